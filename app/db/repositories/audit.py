"""The audit log, read newest first by staff (the scope lets nobody else see a row)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.db.pagination import Page, PageRequest, fetch_page
from app.db.repositories.common import by_ids
from app.db.scope import ReadScope
from app.db.tables import (
    AddOnPurchase,
    AuditEvent,
    BillingAccount,
    Invoice,
    License,
    Order,
    Subscription,
)


@dataclass(frozen=True, slots=True)
class AuditEventFilter:
    """Every given criterion must hold; an empty tuple or None does not filter."""

    actions: tuple[str, ...] = ()
    actor_kind: str | None = None
    actor_id: str | None = None
    target_type: str | None = None
    target_id: str | None = None
    occurred_from: datetime | None = None
    occurred_until: datetime | None = None
    customer_id: int | None = None  # the customer, or any object of its (customer_targets)

    def conditions(self) -> list[sa.ColumnElement[bool]]:
        found: list[sa.ColumnElement[bool]] = []
        if self.actions:
            found.append(col(AuditEvent.action).in_(sorted(set(self.actions))))
        if self.actor_kind is not None:
            found.append(col(AuditEvent.actor_kind) == self.actor_kind)
        if self.actor_id is not None:
            found.append(col(AuditEvent.actor_id) == self.actor_id)
        if self.target_type is not None:
            found.append(col(AuditEvent.target_type) == self.target_type)
        if self.target_id is not None:
            found.append(col(AuditEvent.target_id) == self.target_id)
        if self.occurred_from is not None:
            found.append(col(AuditEvent.occurred_at) >= self.occurred_from)
        if self.occurred_until is not None:
            found.append(col(AuditEvent.occurred_at) <= self.occurred_until)
        if self.customer_id is not None:
            found.append(customer_targets(self.customer_id))
        return found


def customer_targets(customer_id: int) -> sa.ColumnElement[bool]:
    """Rows about the customer or one of its objects: subscriptions, their add-ons and
    licenses, invoices, orders, its own billing accounts (targets are named by type and id)."""
    subscriptions = sa.select(col(Subscription.id)).where(
        col(Subscription.customer_id) == customer_id
    )
    owned = {
        "Subscription": subscriptions,
        "Invoice": sa.select(col(Invoice.id)).where(col(Invoice.customer_id) == customer_id),
        "Order": sa.select(col(Order.id)).where(col(Order.customer_id) == customer_id),
        "BillingAccount": sa.select(col(BillingAccount.id)).where(
            col(BillingAccount.customer_id) == customer_id
        ),
        "AddOnPurchase": sa.select(col(AddOnPurchase.id)).where(
            col(AddOnPurchase.subscription_id).in_(subscriptions)
        ),
        "License": sa.select(col(License.id)).where(
            col(License.subscription_id).in_(subscriptions)
        ),
    }
    return sa.or_(
        sa.and_(
            col(AuditEvent.target_type) == "Customer",
            col(AuditEvent.target_id) == str(customer_id),
        ),
        *(
            sa.and_(
                col(AuditEvent.target_type) == target_type,
                col(AuditEvent.target_id).in_(sa.select(sa.cast(ids.subquery().c[0], sa.String))),
            )
            for target_type, ids in owned.items()
        ),
    )


async def list_audit_events(
    session: AsyncSession, scope: ReadScope, page: PageRequest, filters: AuditEventFilter
) -> Page[AuditEvent]:
    stmt = sa.select(AuditEvent).where(scope.audit_events(), *filters.conditions())
    return await fetch_page(session, stmt, AuditEvent.id, page)


async def audit_events_by_ids(
    session: AsyncSession, scope: ReadScope, ids: Sequence[int]
) -> dict[int, AuditEvent]:
    return await by_ids(session, AuditEvent, ids, scope.audit_events())
