"""Subscriptions' histories, read from the rows that already record them: one statement per
source for a page of any number of subscriptions (each source's rows ranked per subscription,
newest first from the cursor, the page plus one kept), merged by app.domain.history. Each
source's time is set once when its row is written, so a cursor stays valid while new events
arrive."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.db.tables import (
    AuditEvent,
    CreditNote,
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

Events = list[tuple[int, HistoryEvent]]  # (subscription id, event)
Reader = Callable[[AsyncSession, Sequence[int], int, Position | None], Awaitable[Events]]
HistoryPage = tuple[list[HistoryEvent], bool]


async def history_pages(
    session: AsyncSession, subscription_ids: Sequence[int], first: int, after: Position | None
) -> dict[int, HistoryPage]:
    """For each subscription: the `first` events older than `after` (newest first), and
    whether more follow."""
    ids = sorted(set(subscription_ids))
    found: dict[int, list[list[HistoryEvent]]] = defaultdict(list)
    for read in _READERS:
        per_subscription: dict[int, list[HistoryEvent]] = defaultdict(list)
        for sid, event in await read(session, ids, first + 1, after):
            per_subscription[sid].append(event)
        for sid in ids:
            found[sid].append(per_subscription[sid])
    return {sid: newest_first(found[sid], first) for sid in ids}


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
    session: AsyncSession, stmt: Any, subscription: Any, source: Source, time: Any, key: Any,
    limit: int, after: Position | None,
) -> list[Any]:  # fmt: skip
    """`stmt`'s rows after the cursor, the newest `limit` of each subscription (`sub`)."""
    rank = sa.func.row_number().over(partition_by=subscription, order_by=(time.desc(), key.desc()))
    ranked = (
        stmt.add_columns(subscription.label("sub"), rank.label("rank"))
        .where(*_older(source, time, key, after))
        .subquery()
    )
    return list((await session.execute(sa.select(ranked).where(ranked.c.rank <= limit))).all())


def _user_named(actor: Any) -> Any:
    """The portal user an actor string ("customer_user:<external id>") names, if any."""
    return sa.literal(_USER_ACTOR) + col(PortalUser.external_id) == actor


async def _audit(
    session: AsyncSession, ids: Sequence[int], limit: int, after: Position | None
) -> Events:
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
            col(AuditEvent.target_id).in_([str(sid) for sid in ids]),
            col(AuditEvent.action).not_in(COVERED_ACTIONS),
        )
    )
    rows = await _rows(
        session, stmt, col(AuditEvent.target_id), Source.AUDIT, time, key, limit, after
    )
    return [
        (
            int(row.sub),
            HistoryEvent(
                Position(row.occurred_at, Source.AUDIT, row.id),
                HistoryKind.CHANGE,
                row.action,
                actor=f"{row.actor_kind.lower()}:{row.actor_id}",
                actor_name=row.name,
            ),
        )
        for row in rows
    ]


async def _orders(
    session: AsyncSession, ids: Sequence[int], limit: int, after: Position | None
) -> Events:
    time, key = col(Order.created_at), col(Order.id)
    stmt = (
        sa.select(key, time, col(Order.status), col(Order.total), col(Order.currency))
        .add_columns(col(Order.placed_by), col(PortalUser.name))
        .outerjoin(PortalUser, _user_named(col(Order.placed_by)))
        .where(col(Order.subscription_id).in_(ids))
    )
    rows = await _rows(
        session, stmt, col(Order.subscription_id), Source.ORDER, time, key, limit, after
    )
    return [
        (
            row.sub,
            HistoryEvent(
                Position(row.created_at, Source.ORDER, row.id),
                HistoryKind.ORDER,
                "order.placed",
                status=row.status,
                amount=row.total,
                currency=row.currency,
                actor=row.placed_by,
                actor_name=row.name,
            ),
        )
        for row in rows
    ]


async def _renewals(
    session: AsyncSession, ids: Sequence[int], limit: int, after: Position | None
) -> Events:
    time, key = col(Renewal.created_at), col(Renewal.id)
    stmt = (
        sa.select(key, time, col(Renewal.status), col(Invoice.total), col(Invoice.currency))
        .outerjoin(Invoice, col(Invoice.id) == col(Renewal.invoice_id))
        .where(col(Renewal.subscription_id).in_(ids))
    )
    rows = await _rows(
        session, stmt, col(Renewal.subscription_id), Source.RENEWAL, time, key, limit, after
    )
    return [
        (
            row.sub,
            HistoryEvent(
                Position(row.created_at, Source.RENEWAL, row.id),
                HistoryKind.RENEWAL,
                "subscription.renewal",
                status=row.status,
                amount=row.total,
                currency=row.currency,
            ),
        )
        for row in rows
    ]


async def _reconciliations(
    session: AsyncSession, ids: Sequence[int], limit: int, after: Position | None
) -> Events:
    """Quarters once noticed (a scheduled quarter is not an event yet): the invoiced total,
    else the estimate of the notice."""
    time, key = col(Reconciliation.noticed_at), col(Reconciliation.id)
    amount = sa.func.coalesce(col(Invoice.total), col(Reconciliation.amount)).label("amount")
    stmt = (
        sa.select(key, time, col(Reconciliation.status), amount, col(Subscription.currency))
        .join(Subscription, col(Subscription.id) == col(Reconciliation.subscription_id))
        .outerjoin(Invoice, col(Invoice.id) == col(Reconciliation.invoice_id))
        .where(col(Reconciliation.subscription_id).in_(ids), time.is_not(None))
    )
    sub = col(Reconciliation.subscription_id)
    rows = await _rows(session, stmt, sub, Source.RECONCILIATION, time, key, limit, after)
    return [
        (
            row.sub,
            HistoryEvent(
                Position(row.noticed_at, Source.RECONCILIATION, row.id),
                HistoryKind.RECONCILIATION,
                "reconciliation",
                status=row.status,
                amount=row.amount,
                currency=None if row.amount is None else row.currency,
            ),
        )
        for row in rows
    ]


async def _payments(
    session: AsyncSession, ids: Sequence[int], limit: int, after: Position | None
) -> Events:
    """Payments of the subscription's invoices; one asked for with "pay now" is its
    requester's, the others (charges of orders and renewals) the system's."""
    time, key = col(Payment.created_at), col(Payment.id)
    stmt = (
        sa.select(key, time, col(Payment.status), col(Payment.amount), col(Payment.currency))
        .add_columns(col(PayNowRequest.requested_by), col(PortalUser.name))
        .join(Invoice, col(Invoice.id) == col(Payment.invoice_id))
        .outerjoin(PayNowRequest, col(PayNowRequest.payment_id) == key)
        .outerjoin(PortalUser, _user_named(col(PayNowRequest.requested_by)))
        .where(col(Invoice.subscription_id).in_(ids))
    )
    rows = await _rows(
        session, stmt, col(Invoice.subscription_id), Source.PAYMENT, time, key, limit, after
    )
    return [
        (
            row.sub,
            HistoryEvent(
                Position(row.created_at, Source.PAYMENT, row.id),
                HistoryKind.PAYMENT,
                "invoice.payment",
                status=row.status,
                amount=row.amount,
                currency=row.currency,
                actor=row.requested_by,
                actor_name=row.name,
            ),
        )
        for row in rows
    ]


async def _provisioning(
    session: AsyncSession, ids: Sequence[int], limit: int, after: Position | None
) -> Events:
    """Pushes of the entitlement to the product, with their state (never their errors)."""
    time, key = col(OutboxMessage.created_at), col(OutboxMessage.id)
    stmt = sa.select(key, time, col(OutboxMessage.status)).where(
        col(OutboxMessage.subscription_id).in_(ids), col(OutboxMessage.topic) == PROVISION_TOPIC
    )
    sub = col(OutboxMessage.subscription_id)
    rows = await _rows(session, stmt, sub, Source.PROVISIONING, time, key, limit, after)
    return [
        (
            row.sub,
            HistoryEvent(
                Position(row.created_at, Source.PROVISIONING, row.id),
                HistoryKind.PROVISIONING,
                "provisioning.push",
                status=row.status,
            ),
        )
        for row in rows
    ]


async def _credit_notes(
    session: AsyncSession, ids: Sequence[int], limit: int, after: Position | None
) -> Events:
    """Money given back against the subscription's invoices (by staff: named "staff")."""
    time, key = col(CreditNote.created_at), col(CreditNote.id)
    stmt = (
        sa.select(key, time, col(CreditNote.status), col(CreditNote.amount))
        .add_columns(col(CreditNote.currency), col(CreditNote.kind), col(CreditNote.created_by))
        .join(Invoice, col(Invoice.id) == col(CreditNote.invoice_id))
        .where(col(Invoice.subscription_id).in_(ids))
    )
    sub = col(Invoice.subscription_id)
    rows = await _rows(session, stmt, sub, Source.CREDIT_NOTE, time, key, limit, after)
    return [
        (
            row.sub,
            HistoryEvent(
                Position(row.created_at, Source.CREDIT_NOTE, row.id),
                HistoryKind.CREDIT_NOTE,
                "credit_note.refund" if row.kind == "REFUND" else "credit_note.credit",
                status=row.status,
                amount=row.amount,
                currency=row.currency,
                actor=row.created_by,
            ),
        )
        for row in rows
    ]


_READERS: tuple[Reader, ...] = (
    _audit,
    _orders,
    _renewals,
    _reconciliations,
    _payments,
    _provisioning,
    _credit_notes,
)
