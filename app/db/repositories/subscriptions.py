"""Subscriptions and their children: add-ons, assignments, consumables, licenses."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.db.pagination import Page, PageRequest, fetch_child_pages, fetch_page
from app.db.repositories.common import by_ids, child_rows, children
from app.db.scope import ReadScope
from app.db.tables import (
    AddOnAssignment,
    AddOnPurchase,
    ConsumablePurchase,
    Deployment,
    License,
    Product,
    Subscription,
)
from app.domain.enums import Channel, SubscriptionStatus


@dataclass(frozen=True, slots=True)
class SubscriptionFilter:
    statuses: tuple[SubscriptionStatus, ...] = ()
    plan_codes: tuple[str, ...] = ()
    channels: tuple[Channel, ...] = ()
    term_ends_from: date | None = None
    term_ends_until: date | None = None
    customer_id: int | None = None

    def conditions(self) -> list[sa.ColumnElement[bool]]:
        found: list[sa.ColumnElement[bool]] = []
        if self.statuses:
            found.append(col(Subscription.status).in_(self.statuses))
        if self.channels:
            found.append(col(Subscription.channel).in_(self.channels))
        if self.plan_codes:
            plans = sa.select(col(Product.id)).where(col(Product.code).in_(self.plan_codes))
            found.append(col(Subscription.plan_id).in_(plans))
        if self.term_ends_from is not None:
            found.append(col(Subscription.term_end) >= self.term_ends_from)
        if self.term_ends_until is not None:
            found.append(col(Subscription.term_end) <= self.term_ends_until)
        if self.customer_id is not None:
            found.append(col(Subscription.customer_id) == self.customer_id)
        return found


async def list_subscriptions(
    session: AsyncSession, scope: ReadScope, page: PageRequest, filters: SubscriptionFilter
) -> Page[Subscription]:
    stmt = sa.select(Subscription).where(scope.subscriptions(), *filters.conditions())
    return await fetch_page(session, stmt, Subscription.id, page)


async def subscriptions_by_ids(
    session: AsyncSession, scope: ReadScope, ids: Sequence[int]
) -> dict[int, Subscription]:
    return await by_ids(session, Subscription, ids, scope.subscriptions())


async def subscription_by_number(
    session: AsyncSession, scope: ReadScope, number: str
) -> Subscription | None:
    stmt = sa.select(Subscription).where(
        col(Subscription.number) == number.strip().upper(),
        scope.subscriptions(),
    )
    return (await session.scalars(stmt)).first()


async def live_subscription_by_deployment(
    session: AsyncSession, scope: ReadScope, external_id: str
) -> Subscription | None:
    """The deployment's current base subscription, else its most recent one."""
    stmt = (
        sa.select(Subscription)
        .join(Deployment, col(Deployment.id) == col(Subscription.deployment_id))
        .where(col(Deployment.external_id) == external_id.strip(), scope.subscriptions())
        .order_by(col(Subscription.term_end).desc(), col(Subscription.id).desc())
        .limit(1)
    )
    return (await session.scalars(stmt)).first()


async def subscription_pages_by_customer(
    session: AsyncSession, scope: ReadScope, customer_ids: Sequence[int], page: PageRequest
) -> dict[int, Page[Subscription]]:
    return await fetch_child_pages(
        session, Subscription, Subscription.customer_id, customer_ids, page, scope.subscriptions()
    )


async def add_ons_by_subscription(
    session: AsyncSession, subscription_ids: Sequence[int]
) -> dict[int, list[AddOnPurchase]]:
    return await children(session, AddOnPurchase, AddOnPurchase.subscription_id, subscription_ids)


async def add_on_rows_by_subscription(
    session: AsyncSession, subscription_ids: Sequence[int]
) -> dict[int, list[sa.Row[Any]]]:
    """`add_ons_by_subscription` as read-only Core rows (for the API's lists)."""
    return await child_rows(session, AddOnPurchase, AddOnPurchase.subscription_id, subscription_ids)


async def add_ons_by_ids(
    session: AsyncSession, scope: ReadScope, ids: Sequence[int]
) -> dict[int, AddOnPurchase]:
    visible = sa.select(col(Subscription.id)).where(scope.subscriptions())
    return await by_ids(
        session, AddOnPurchase, ids, col(AddOnPurchase.subscription_id).in_(visible)
    )


async def assignment_counts(session: AsyncSession, add_on_ids: Sequence[int]) -> dict[int, int]:
    purchase_id = col(AddOnAssignment.add_on_purchase_id)
    stmt = (
        sa.select(purchase_id, sa.func.count())
        .where(purchase_id.in_(sorted(set(add_on_ids))))
        .group_by(purchase_id)
    )
    return {purchase: count for purchase, count in (await session.execute(stmt)).all()}


async def assignment_pages(
    session: AsyncSession, scope: ReadScope, add_on_ids: Sequence[int], request: PageRequest
) -> dict[int, Page[Any]]:
    """A page of each purchase's assignments, oldest first, in one statement. The purchases
    were read through the scope already (a purchase is reached only from what it may see)."""
    return await fetch_child_pages(
        session,
        AddOnAssignment,
        AddOnAssignment.add_on_purchase_id,
        add_on_ids,
        request,
        plain=True,
    )


async def holders_by_add_on(
    session: AsyncSession, add_on_ids: Sequence[int]
) -> dict[int, list[str]]:
    """User ids holding each purchase's seats (one query; purchases nobody holds are absent)."""
    purchase_id = col(AddOnAssignment.add_on_purchase_id)
    stmt = (
        sa.select(purchase_id, col(AddOnAssignment.user_id))
        .where(purchase_id.in_(sorted(set(add_on_ids))))
        .order_by(col(AddOnAssignment.id))
    )
    held: dict[int, list[str]] = {}
    for purchase, user_id in (await session.execute(stmt)).all():
        held.setdefault(purchase, []).append(user_id)
    return held


async def consumables_by_subscription(
    session: AsyncSession, subscription_ids: Sequence[int]
) -> dict[int, list[ConsumablePurchase]]:
    return await children(
        session,
        ConsumablePurchase,
        ConsumablePurchase.subscription_id,
        subscription_ids,
        order_by=(ConsumablePurchase.expires_on, ConsumablePurchase.id),
    )


async def licenses_by_subscription(
    session: AsyncSession, subscription_ids: Sequence[int]
) -> dict[int, list[License]]:
    """The licenses in force (a reissued one's revoked row is left out), oldest first."""
    return await children(
        session,
        License,
        License.subscription_id,
        subscription_ids,
        col(License.revoked_at).is_(None),
    )
