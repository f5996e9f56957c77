"""A subscription's history, read from the rows that already record it: one statement per
source per page, each newest first from the cursor and limited to the page (plus one), merged
by app.domain.history. Each source's time is set once when its row is written, so a cursor
stays valid while new events arrive."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.db.tables import (
    AuditEvent,
    Invoice,
    Order,
    OutboxMessage,
    Payment,
    PayNowRequest,
    PortalUser,
    Reconciliation,
    Renewal,
    Subscription,
)
from app.domain.history import HistoryEvent, HistoryKind, Position, Source, newest_first

# Audit actions another source already tells (with its amount), left out of CHANGE events.
COVERED_ACTIONS = (
    "order.placed",
    "subscription.renewed",
    "subscription.renewal_declined",
    "reconciliation.noticed",
    "reconciliation.invoiced",
    "reconciliation.settled",
)
PROVISION_TOPIC = "provisioning.push"  # app.services.outbox.PROVISION (db may not import it)
_USER_ACTOR = "customer_user:"

Reader = Callable[[AsyncSession, Subscription, int, Position | None], Awaitable[list[HistoryEvent]]]


async def history_page(
    session: AsyncSession, subscription: Subscription, first: int, after: Position | None
) -> tuple[list[HistoryEvent], bool]:
    """The `first` events older than `after` (newest first), and whether more follow."""
    pages = [await read(session, subscription, first + 1, after) for read in _READERS]
    return newest_first(pages, first)


def _older(
    source: Source, time: Any, key: Any, after: Position | None
) -> list[sa.ColumnElement[bool]]:
    """Rows of `source` that sort after the cursor in (time, source, key) descending."""
    if after is None:
        return []
    if source < after.source:
        return [time <= after.occurred_at]
    if source > after.source:
        return [time < after.occurred_at]
    return [sa.or_(time < after.occurred_at, sa.and_(time == after.occurred_at, key < after.key))]


async def _rows(
    session: AsyncSession, stmt: Any, source: Source, time: Any, key: Any,
    limit: int, after: Position | None,
) -> list[Any]:  # fmt: skip
    stmt = stmt.where(*_older(source, time, key, after)).order_by(time.desc(), key.desc())
    return list((await session.execute(stmt.limit(limit))).all())


def _user_named(actor: Any) -> Any:
    """The portal user an actor string ("customer_user:<external id>") names, if any."""
    return sa.literal(_USER_ACTOR) + col(PortalUser.external_id) == actor


async def _audit(
    session: AsyncSession, sub: Subscription, limit: int, after: Position | None
) -> list[HistoryEvent]:
    time, key = col(AuditEvent.occurred_at), col(AuditEvent.id)
    stmt = (
        sa.select(key, time, col(AuditEvent.action), col(AuditEvent.actor_kind))
        .add_columns(col(AuditEvent.actor_id), col(PortalUser.name))
        .outerjoin(
            PortalUser,
            sa.and_(
                col(AuditEvent.actor_kind) == "CUSTOMER_USER",
                col(PortalUser.external_id) == col(AuditEvent.actor_id),
            ),
        )
        .where(
            col(AuditEvent.target_type) == "Subscription",
            col(AuditEvent.target_id) == str(sub.id),
            col(AuditEvent.action).not_in(COVERED_ACTIONS),
        )
    )
    return [
        HistoryEvent(
            Position(row.occurred_at, Source.AUDIT, row.id),
            HistoryKind.CHANGE,
            row.action,
            actor=f"{row.actor_kind.lower()}:{row.actor_id}",
            actor_name=row.name,
        )
        for row in await _rows(session, stmt, Source.AUDIT, time, key, limit, after)
    ]


async def _orders(
    session: AsyncSession, sub: Subscription, limit: int, after: Position | None
) -> list[HistoryEvent]:
    time, key = col(Order.created_at), col(Order.id)
    stmt = (
        sa.select(key, time, col(Order.status), col(Order.total), col(Order.currency))
        .add_columns(col(Order.placed_by), col(PortalUser.name))
        .outerjoin(PortalUser, _user_named(col(Order.placed_by)))
        .where(col(Order.subscription_id) == sub.id)
    )
    return [
        HistoryEvent(
            Position(row.created_at, Source.ORDER, row.id),
            HistoryKind.ORDER,
            "order.placed",
            status=row.status,
            amount=row.total,
            currency=row.currency,
            actor=row.placed_by,
            actor_name=row.name,
        )
        for row in await _rows(session, stmt, Source.ORDER, time, key, limit, after)
    ]


async def _renewals(
    session: AsyncSession, sub: Subscription, limit: int, after: Position | None
) -> list[HistoryEvent]:
    time, key = col(Renewal.created_at), col(Renewal.id)
    stmt = (
        sa.select(key, time, col(Renewal.status), col(Invoice.total), col(Invoice.currency))
        .outerjoin(Invoice, col(Invoice.id) == col(Renewal.invoice_id))
        .where(col(Renewal.subscription_id) == sub.id)
    )
    return [
        HistoryEvent(
            Position(row.created_at, Source.RENEWAL, row.id),
            HistoryKind.RENEWAL,
            "subscription.renewal",
            status=row.status,
            amount=row.total,
            currency=row.currency,
        )
        for row in await _rows(session, stmt, Source.RENEWAL, time, key, limit, after)
    ]


async def _reconciliations(
    session: AsyncSession, sub: Subscription, limit: int, after: Position | None
) -> list[HistoryEvent]:
    """Quarters once noticed (a scheduled quarter is not an event yet): the invoiced total,
    else the estimate of the notice."""
    time, key = col(Reconciliation.noticed_at), col(Reconciliation.id)
    amount = sa.func.coalesce(col(Invoice.total), col(Reconciliation.amount)).label("amount")
    stmt = (
        sa.select(key, time, col(Reconciliation.status), amount)
        .outerjoin(Invoice, col(Invoice.id) == col(Reconciliation.invoice_id))
        .where(col(Reconciliation.subscription_id) == sub.id, time.is_not(None))
    )
    return [
        HistoryEvent(
            Position(row.noticed_at, Source.RECONCILIATION, row.id),
            HistoryKind.RECONCILIATION,
            "reconciliation",
            status=row.status,
            amount=row.amount,
            currency=None if row.amount is None else sub.currency,
        )
        for row in await _rows(session, stmt, Source.RECONCILIATION, time, key, limit, after)
    ]


async def _payments(
    session: AsyncSession, sub: Subscription, limit: int, after: Position | None
) -> list[HistoryEvent]:
    """Payments of the subscription's invoices; one asked for with "pay now" is its
    requester's, the others (charges of orders and renewals) the system's."""
    time, key = col(Payment.created_at), col(Payment.id)
    stmt = (
        sa.select(key, time, col(Payment.status), col(Payment.amount), col(Payment.currency))
        .add_columns(col(PayNowRequest.requested_by), col(PortalUser.name))
        .join(Invoice, col(Invoice.id) == col(Payment.invoice_id))
        .outerjoin(PayNowRequest, col(PayNowRequest.payment_id) == key)
        .outerjoin(PortalUser, _user_named(col(PayNowRequest.requested_by)))
        .where(col(Invoice.subscription_id) == sub.id)
    )
    return [
        HistoryEvent(
            Position(row.created_at, Source.PAYMENT, row.id),
            HistoryKind.PAYMENT,
            "invoice.payment",
            status=row.status,
            amount=row.amount,
            currency=row.currency,
            actor=row.requested_by,
            actor_name=row.name,
        )
        for row in await _rows(session, stmt, Source.PAYMENT, time, key, limit, after)
    ]


async def _provisioning(
    session: AsyncSession, sub: Subscription, limit: int, after: Position | None
) -> list[HistoryEvent]:
    """Pushes of the entitlement to the product, with their state (never their errors)."""
    time, key = col(OutboxMessage.created_at), col(OutboxMessage.id)
    stmt = sa.select(key, time, col(OutboxMessage.status)).where(
        col(OutboxMessage.subscription_id) == sub.id, col(OutboxMessage.topic) == PROVISION_TOPIC
    )
    return [
        HistoryEvent(
            Position(row.created_at, Source.PROVISIONING, row.id),
            HistoryKind.PROVISIONING,
            "provisioning.push",
            status=row.status,
        )
        for row in await _rows(session, stmt, Source.PROVISIONING, time, key, limit, after)
    ]


_READERS: tuple[Reader, ...] = (
    _audit,
    _orders,
    _renewals,
    _reconciliations,
    _payments,
    _provisioning,
)
