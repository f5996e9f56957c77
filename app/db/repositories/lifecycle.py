"""The billing lifecycle's SQL: what is due for each job, claimed FOR UPDATE SKIP LOCKED
(PostgreSQL; SQLite serialises writers), and the order lease a job holds while it changes a
subscription.

Every due query excludes subscriptions whose order lease is live, so a worker never fills
its batch with rows it would only skip; the job then takes the lease itself in the claiming
transaction (an order that took it first wins, and the job tries again on a later round).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlmodel import SQLModel, col

from app.db.lease_wait import notify_released
from app.db.tables import (
    LifecycleEvent,
    OrderLease,
    Price,
    Product,
    Reconciliation,
    Renewal,
    SeatUsage,
    Subscription,
)
from app.domain.eligibility import FREE_PLAN_TIER, GRACE_PERIOD_DAYS
from app.domain.enums import ProductKind, ReconciliationMode, SubscriptionStatus
from app.domain.lifecycle import LifecycleEventKind, RenewalStatus
from app.domain.reconciliation import OPEN_STATUSES, ReconciliationStatus


def _insert(session: AsyncSession, table: type) -> Any:
    assert session.bind is not None
    dialect = session.bind.dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


async def add_once(session: AsyncSession, row: SQLModel) -> bool:
    """Insert the row unless one with the same unique key exists (a worker with an older
    snapshot may race another to it): whether it was inserted."""
    values = row.model_dump(exclude_none=True)
    inserted = await session.execute(
        _insert(session, type(row)).values(**values).on_conflict_do_nothing()
    )
    return bool(inserted.rowcount == 1)  # type: ignore[attr-defined]


def lease_resource(subscription_id: int) -> str:
    """The resource orders lease (OrderRequest.lease_resource) for a subscription."""
    return f"subscription:{subscription_id}"


async def take_lease(
    session: AsyncSession, subscription_id: int, now: datetime, until: datetime
) -> bool:
    """Hold the subscription's order lease for a lifecycle job (order_id NULL) unless an
    order (or another job) holds an unexpired one."""
    resource = lease_resource(subscription_id)
    inserted = await session.execute(
        _insert(session, OrderLease)
        .values(resource=resource, order_id=None, expires_at=until)
        .on_conflict_do_nothing()
    )
    if inserted.rowcount == 1:  # type: ignore[attr-defined]
        return True
    taken = await session.execute(
        sa.update(OrderLease)
        .where(col(OrderLease.resource) == resource, col(OrderLease.expires_at) < now)
        .values(order_id=None, expires_at=until)
    )
    return bool(taken.rowcount == 1)  # type: ignore[attr-defined]


async def release_lease(session: AsyncSession, subscription_id: int, until: datetime) -> None:
    """Give the lease back, only if it is still the one taken until `until`."""
    await session.execute(
        sa.delete(OrderLease).where(
            col(OrderLease.resource) == lease_resource(subscription_id),
            col(OrderLease.order_id).is_(None),
            col(OrderLease.expires_at) == until,
        )
    )
    await notify_released(session, lease_resource(subscription_id))


async def renew_lease(
    session: AsyncSession, subscription_id: int, until: datetime, new_until: datetime
) -> bool:
    """Extend a job's lease taken until `until` to `new_until`, unless someone else took it
    since (an order or another job replaces `expires_at` when it takes an expired lease)."""
    renewed = await session.execute(
        sa.update(OrderLease)
        .where(
            col(OrderLease.resource) == lease_resource(subscription_id),
            col(OrderLease.order_id).is_(None),
            col(OrderLease.expires_at) == until,
        )
        .values(expires_at=new_until)
    )
    return bool(renewed.rowcount == 1)  # type: ignore[attr-defined]


def _unleased(now: datetime) -> sa.ColumnElement[bool]:
    resource = sa.literal("subscription:") + sa.cast(col(Subscription.id), sa.String)
    live = (
        sa.select(sa.literal(1))
        .where(col(OrderLease.resource) == resource, col(OrderLease.expires_at) >= now)
        .exists()
    )
    return ~live


def _paid_plan() -> sa.ColumnElement[bool]:
    paid = sa.select(col(Product.id)).where(col(Product.tier) != FREE_PLAN_TIER)
    return col(Subscription.plan_id).in_(paid)


def _claim(stmt: sa.Select[Subscription], limit: int) -> sa.Select[Subscription]:
    return (
        stmt.order_by(col(Subscription.term_end), col(Subscription.id))
        .limit(limit)
        .with_for_update(skip_locked=True, of=Subscription)
    )


# -- reconciliation ------------------------------------------------------------------------


async def unscheduled_quarterly(
    session: AsyncSession, today: date, now: datetime, limit: int
) -> list[Subscription]:
    """Active, paid, quarterly subscriptions whose current term has no reconciliation rows."""
    scheduled = (
        sa.select(sa.literal(1))
        .where(
            col(Reconciliation.subscription_id) == col(Subscription.id),
            col(Reconciliation.term_start) == col(Subscription.term_start),
        )
        .exists()
    )
    stmt = sa.select(Subscription).where(
        col(Subscription.status) == SubscriptionStatus.ACTIVE,
        col(Subscription.reconciliation_mode) == ReconciliationMode.QUARTERLY,
        col(Subscription.term_start) <= today,
        _paid_plan(),
        ~scheduled,
        _unleased(now),
    )
    return list((await session.scalars(_claim(stmt, limit))).all())


async def due_reconciliations(
    session: AsyncSession, today: date, now: datetime, limit: int
) -> list[tuple[Reconciliation, Subscription]]:
    """Per subscription, its earliest open reconciliation when that one is due: a quarter
    that ended (notice), a notice 7 days old (invoice), or an invoice whose claim ran out."""
    earlier = aliased(Reconciliation)
    open_before = (
        sa.select(sa.literal(1))
        .where(
            col(earlier.subscription_id) == col(Reconciliation.subscription_id),
            col(earlier.quarter_end) < col(Reconciliation.quarter_end),
            col(earlier.status).in_(OPEN_STATUSES),
        )
        .exists()
    )
    due = sa.or_(
        sa.and_(
            col(Reconciliation.status) == ReconciliationStatus.SCHEDULED,
            col(Reconciliation.quarter_end) <= today,
        ),
        sa.and_(
            col(Reconciliation.status) == ReconciliationStatus.NOTICED,
            col(Reconciliation.invoice_on) <= today,
        ),
        sa.and_(
            col(Reconciliation.status) == ReconciliationStatus.INVOICING,
            sa.or_(
                col(Reconciliation.claimed_until).is_(None),
                col(Reconciliation.claimed_until) <= now,
            ),
        ),
    )
    stmt = (
        sa.select(Reconciliation, Subscription)
        .join(Subscription, col(Subscription.id) == col(Reconciliation.subscription_id))
        .where(due, ~open_before, _unleased(now))
        .order_by(col(Reconciliation.quarter_end), col(Reconciliation.id))
        .limit(limit)
        .with_for_update(skip_locked=True, of=[Reconciliation, Subscription])
    )
    return [(r, s) for r, s in (await session.execute(stmt)).all()]


async def quarter_max(session: AsyncSession, deployment_id: int, start: date, end: date) -> int:
    """The highest billable users reported for the deployment in [start, end) (0 if none):
    every report counts, not only each day's latest."""
    stmt = sa.select(sa.func.coalesce(sa.func.max(col(SeatUsage.max_billable_users)), 0)).where(
        col(SeatUsage.deployment_id) == deployment_id,
        col(SeatUsage.reported_on) >= start,
        col(SeatUsage.reported_on) < end,
    )
    return int((await session.execute(stmt)).scalar_one())


# -- renewals ------------------------------------------------------------------------------


def _renewal_of_term() -> sa.ColumnElement[bool]:
    return sa.and_(
        col(Renewal.subscription_id) == col(Subscription.id),
        col(Renewal.term_start) == col(Subscription.term_end),
    )


def _reconciled() -> sa.ColumnElement[bool]:
    """Quarterly subscriptions renew once their term's quarters are scheduled and closed."""
    of_term = sa.and_(
        col(Reconciliation.subscription_id) == col(Subscription.id),
        col(Reconciliation.term_start) == col(Subscription.term_start),
    )
    scheduled = sa.select(sa.literal(1)).where(of_term).exists()
    still_open = (
        sa.select(sa.literal(1))
        .where(of_term, col(Reconciliation.status).in_(OPEN_STATUSES))
        .exists()
    )
    return sa.or_(
        col(Subscription.reconciliation_mode) != ReconciliationMode.QUARTERLY,
        sa.and_(scheduled, ~still_open),
    )


async def due_term_ends(
    session: AsyncSession, today: date, now: datetime, limit: int
) -> list[Subscription]:
    """Subscriptions whose term ended and that a renewal run should look at: active ones
    (renew, or start grace when auto-renew is off) not being renewed by another worker, and
    ones in grace whose declined renewal is due to be charged again (or was left claimed)."""
    in_flight = (
        sa.select(sa.literal(1))
        .where(
            _renewal_of_term(),
            col(Renewal.status) == RenewalStatus.PENDING,
            col(Renewal.claimed_until) > now,
        )
        .exists()
    )
    retry_due = (
        sa.select(sa.literal(1))
        .where(
            _renewal_of_term(),
            col(Renewal.status) == RenewalStatus.DECLINED,
            col(Renewal.next_attempt_on) <= today,
        )
        .exists()
    )
    # A claim that ran out (the charge may have gone through): resumed even after grace,
    # since expiry waits for it.
    left_claimed = (
        sa.select(sa.literal(1))
        .where(
            _renewal_of_term(),
            col(Renewal.status) == RenewalStatus.PENDING,
            sa.or_(col(Renewal.claimed_until).is_(None), col(Renewal.claimed_until) <= now),
        )
        .exists()
    )
    grace_from = today - timedelta(days=GRACE_PERIOD_DAYS)
    stmt = sa.select(Subscription).where(
        col(Subscription.term_end) <= today,
        _paid_plan(),
        _unleased(now),
        sa.or_(
            sa.and_(
                col(Subscription.status) == SubscriptionStatus.ACTIVE, ~in_flight, _reconciled()
            ),
            sa.and_(
                col(Subscription.status) == SubscriptionStatus.GRACE,
                sa.or_(sa.and_(col(Subscription.term_end) > grace_from, retry_due), left_claimed),
            ),
        ),
    )
    return list((await session.scalars(_claim(stmt, limit))).all())


async def renewal_of_term(session: AsyncSession, subscription: Subscription) -> Renewal | None:
    stmt = (
        sa.select(Renewal)
        .where(
            col(Renewal.subscription_id) == subscription.id,
            col(Renewal.term_start) == subscription.term_end,
        )
        .with_for_update()
    )
    return (await session.scalars(stmt)).first()


# -- expiry and reminders ------------------------------------------------------------------


async def due_expiries(
    session: AsyncSession, today: date, now: datetime, limit: int
) -> list[Subscription]:
    """Subscriptions in grace past its end, and trials past their end. One whose renewal is
    still being charged (PENDING: the payment may have gone through) waits for its outcome.
    A grace period staff extended ends on `grace_extended_until` instead."""
    grace_from = today - timedelta(days=GRACE_PERIOD_DAYS)
    charging = (
        sa.select(sa.literal(1))
        .where(_renewal_of_term(), col(Renewal.status) == RenewalStatus.PENDING)
        .exists()
    )
    stmt = sa.select(Subscription).where(
        _unleased(now),
        sa.or_(
            sa.and_(
                col(Subscription.status) == SubscriptionStatus.GRACE,
                col(Subscription.term_end) <= grace_from,
                sa.or_(
                    col(Subscription.grace_extended_until).is_(None),
                    col(Subscription.grace_extended_until) <= today,
                ),
                ~charging,
            ),
            sa.and_(
                col(Subscription.status) == SubscriptionStatus.TRIAL,
                col(Subscription.term_end) <= today,
            ),
        ),
    )
    return list((await session.scalars(_claim(stmt, limit))).all())


async def due_reminders(
    session: AsyncSession,
    kind: LifecycleEventKind,
    status: SubscriptionStatus,
    last_day: date,
    today: date,
    limit: int,
) -> list[Subscription]:
    """Subscriptions of `status` whose term ends in (today, last_day] and that have not had
    this reminder for that term end."""
    sent = (
        sa.select(sa.literal(1))
        .where(
            col(LifecycleEvent.subscription_id) == col(Subscription.id),
            col(LifecycleEvent.kind) == kind,
            col(LifecycleEvent.due_on) == col(Subscription.term_end),
        )
        .exists()
    )
    stmt = sa.select(Subscription).where(
        col(Subscription.status) == status,
        col(Subscription.term_end) > today,
        col(Subscription.term_end) <= last_day,
        ~sent,
    )
    if status is SubscriptionStatus.ACTIVE:
        stmt = stmt.where(_paid_plan())
    return list((await session.scalars(_claim(stmt, limit))).all())


async def charge_in_flight(session: AsyncSession, subscription: Subscription) -> bool:
    """Whether a job is charging the subscription, or its charge is in doubt: the renewal of
    its term PENDING, or a reconciliation of its term INVOICING. Orders wait for the outcome."""
    renewal = sa.select(sa.literal(1)).where(
        col(Renewal.subscription_id) == subscription.id,
        col(Renewal.term_start) == subscription.term_end,
        col(Renewal.status) == RenewalStatus.PENDING,
    )
    reconciliation = sa.select(sa.literal(1)).where(
        col(Reconciliation.subscription_id) == subscription.id,
        col(Reconciliation.term_start) == subscription.term_start,
        col(Reconciliation.status) == ReconciliationStatus.INVOICING,
    )
    stmt = sa.select(sa.or_(renewal.exists(), reconciliation.exists()))
    return bool((await session.execute(stmt)).scalar_one())


async def renewals_of(session: AsyncSession, subscription_id: int) -> list[Renewal]:
    stmt = (
        sa.select(Renewal)
        .where(col(Renewal.subscription_id) == subscription_id)
        .order_by(col(Renewal.term_start))
    )
    return list((await session.scalars(stmt)).all())


async def plan_price(session: AsyncSession, plan_id: int, currency: str) -> tuple[str, int]:
    """The plan's code and its price per seat per term in `currency`."""
    stmt = (
        sa.select(col(Product.code), col(Price.amount))
        .join(Price, col(Price.product_id) == col(Product.id))
        .where(col(Product.id) == plan_id, col(Price.currency) == currency)
    )
    code, amount = (await session.execute(stmt)).one()
    return str(code), int(amount)


async def free_plan(session: AsyncSession) -> Product | None:
    stmt = (
        sa.select(Product)
        .where(col(Product.tier) == FREE_PLAN_TIER, col(Product.kind) == ProductKind.PLAN)
        .order_by(col(Product.id))
    )
    return (await session.scalars(stmt)).first()
