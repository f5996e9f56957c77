"""Usage reported by the product: the daily seat figures of a deployment and its compute
minutes (events, monthly totals, the packs they draw on)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.db.pagination import Page
from app.db.scope import ReadScope
from app.db.tables import (
    ComputeUsageEvent,
    ComputeUsageMonth,
    ConsumablePurchase,
    Deployment,
    Product,
    SeatUsage,
    Subscription,
)
from app.domain.eligibility import FREE_PLAN_TIER, GRACE_PERIOD_DAYS
from app.domain.enums import LIVE_STATUSES, ConsumableKind, ProductKind, SubscriptionStatus


def _insert(session: AsyncSession) -> Any:
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


# --- deployments and their live subscription --------------------------------------------------


async def deployment_by_external_id(
    session: AsyncSession, external_id: str, *, lock: bool = False
) -> Deployment | None:
    stmt = sa.select(Deployment).where(col(Deployment.external_id) == external_id)
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    return (await session.scalars(stmt)).first()


async def live_subscription(
    session: AsyncSession, deployment_id: int, *, lock: bool = False
) -> Subscription | None:
    """The deployment's one live (trial, active or grace) subscription, if any."""
    stmt = sa.select(Subscription).where(
        col(Subscription.deployment_id) == deployment_id,
        col(Subscription.status).in_(LIVE_STATUSES),
    )
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    return (await session.scalars(stmt)).first()


async def plan_of(session: AsyncSession, subscription: Subscription) -> Product:
    stmt = sa.select(Product).where(col(Product.id) == subscription.plan_id)
    return (await session.scalars(stmt)).one()


# --- seat usage ----------------------------------------------------------------------------


async def record_seat_usage(
    session: AsyncSession, deployment_id: int, day: date, billable_users: int, at: datetime
) -> bool:
    """Insert the day's figure, or update the row in one statement (race-safe): a later report
    (by `at`; at the same instant, another figure) becomes the day's latest figure, and a
    figure above the day's greatest becomes its greatest, however late it arrives. True when
    the row was written; an earlier, lower or identical report leaves it alone."""
    stmt = (
        _insert(session)(SeatUsage)
        .values(
            deployment_id=deployment_id,
            reported_on=day,
            billable_users=billable_users,
            max_billable_users=billable_users,
            reported_at=at,
        )
        .returning(col(SeatUsage.id))
    )
    table = SeatUsage.__table__  # type: ignore[attr-defined]
    new = stmt.excluded
    later = sa.or_(
        table.c.reported_at < new.reported_at,
        sa.and_(
            table.c.reported_at == new.reported_at,
            table.c.billable_users != new.billable_users,
        ),
    )
    higher = table.c.max_billable_users < new.billable_users
    stmt = stmt.on_conflict_do_update(
        index_elements=[col(SeatUsage.deployment_id), col(SeatUsage.reported_on)],
        set_={
            "billable_users": sa.case((later, new.billable_users), else_=table.c.billable_users),
            "reported_at": sa.case((later, new.reported_at), else_=table.c.reported_at),
            "max_billable_users": sa.case(
                (higher, new.billable_users), else_=table.c.max_billable_users
            ),
        },
        where=sa.or_(later, higher),
    )
    return (await session.execute(stmt)).first() is not None


async def seat_usage_on(session: AsyncSession, deployment_id: int, day: date) -> SeatUsage:
    stmt = (
        sa.select(SeatUsage)
        .where(col(SeatUsage.deployment_id) == deployment_id, col(SeatUsage.reported_on) == day)
        .execution_options(populate_existing=True)
    )
    return (await session.scalars(stmt)).one()


async def latest_seat_report_at(session: AsyncSession, deployment_id: int) -> datetime | None:
    """When the deployment's latest report was made (the latest day holds its latest one)."""
    stmt = (
        sa.select(col(SeatUsage.reported_at))
        .where(col(SeatUsage.deployment_id) == deployment_id)
        .order_by(col(SeatUsage.reported_on).desc())
        .limit(1)
    )
    found: datetime | None = (await session.execute(stmt)).scalar_one_or_none()
    return found


@dataclass(frozen=True, slots=True)
class SeatUsageWindow:
    """A page of a subscription's daily seat figures, oldest first: `after` is the day of the
    previous page's last row; `since` defaults to the subscription's term start. Whatever the
    caller asks, only days within the subscription's own lifetime are read."""

    first: int
    after: date | None = None
    since: date | None = None
    until: date | None = None


@dataclass(frozen=True, slots=True)
class SeatUsagePoint:
    reported_on: date
    billable_users: int  # the day's latest report
    max_billable_users: int  # the day's highest


def _lifetime(dialect: str) -> list[sa.ColumnElement[bool]]:
    """The subscription's own days: from its creation (UTC) to its term end, plus the grace
    days once it is in grace or expired. Usage is joined by deployment, which a later
    subscription (another customer's, or bought without the partner) may share."""
    day = col(SeatUsage.reported_on)
    created = col(Subscription.created_at)
    term_end = col(Subscription.term_end)
    if dialect == "postgresql":
        created_on: sa.ColumnElement[Any] = sa.cast(sa.func.timezone("UTC", created), sa.Date)
        grace_end: sa.ColumnElement[Any] = term_end + sa.literal(GRACE_PERIOD_DAYS)
    else:  # SQLite stores UTC text; date() takes its day and does the arithmetic
        created_on = sa.func.date(created)
        grace_end = sa.func.date(term_end, f"+{GRACE_PERIOD_DAYS} days")
    ended = col(Subscription.status).in_([SubscriptionStatus.GRACE, SubscriptionStatus.EXPIRED])
    return [day >= created_on, day < sa.case((ended, grace_end), else_=term_end)]


async def seat_usage_pages(
    session: AsyncSession,
    scope: ReadScope,
    subscription_ids: Sequence[int],
    window: SeatUsageWindow,
) -> dict[int, Page[SeatUsagePoint]]:
    """One page per visible subscription, all in one statement (ROW_NUMBER per subscription)."""
    day = col(SeatUsage.reported_on)
    position = sa.func.row_number().over(partition_by=col(Subscription.id), order_by=day.asc())
    dialect = session.get_bind().dialect.name
    since = sa.literal(window.since) if window.since else col(Subscription.term_start)
    inner = (
        sa.select(
            col(Subscription.id).label("subscription_id"),
            day.label("reported_on"),
            col(SeatUsage.billable_users).label("billable_users"),
            col(SeatUsage.max_billable_users).label("max_billable_users"),
            position.label("position"),
        )
        .join(Subscription, col(Subscription.deployment_id) == col(SeatUsage.deployment_id))
        .where(
            col(Subscription.id).in_(sorted(set(subscription_ids))),
            scope.subscriptions(),
            day >= since,
            *_lifetime(dialect),
        )
    )
    if window.until is not None:
        inner = inner.where(day <= window.until)
    if window.after is not None:
        inner = inner.where(day > window.after)
    ranked = inner.subquery()
    stmt = (
        sa.select(
            ranked.c.subscription_id,
            ranked.c.reported_on,
            ranked.c.billable_users,
            ranked.c.max_billable_users,
        )
        .where(ranked.c.position <= window.first + 1)
        .order_by(ranked.c.subscription_id, ranked.c.position)
    )
    grouped: dict[int, list[SeatUsagePoint]] = {pk: [] for pk in subscription_ids}
    for subscription_id, reported_on, users, most in (await session.execute(stmt)).all():
        grouped[subscription_id].append(SeatUsagePoint(reported_on, users, most))
    return {
        pk: Page(points[: window.first], len(points) > window.first, window.after is not None)
        for pk, points in grouped.items()
    }


# --- compute minutes -----------------------------------------------------------------------


async def event_by_id(session: AsyncSession, event_id: str) -> ComputeUsageEvent | None:
    stmt = sa.select(ComputeUsageEvent).where(col(ComputeUsageEvent.event_id) == event_id)
    return (await session.scalars(stmt)).first()


async def insert_event(session: AsyncSession, values: dict[str, Any]) -> bool:
    """Insert the event unless its id is taken (then False); a concurrent insert of the same
    id is waited for, so exactly one of them is stored."""
    stmt = (
        _insert(session)(ComputeUsageEvent)
        .values(**values)
        .on_conflict_do_nothing(index_elements=[col(ComputeUsageEvent.event_id)])
        .returning(col(ComputeUsageEvent.id))
    )
    return (await session.execute(stmt)).first() is not None


async def lock_month(
    session: AsyncSession, deployment_id: int, month: date, at: datetime
) -> ComputeUsageMonth:
    """The deployment's totals for `month`, created empty if need be, locked until commit."""
    await session.execute(
        _insert(session)(ComputeUsageMonth)
        .values(
            deployment_id=deployment_id,
            month=month,
            quota_used=0,
            purchased_used=0,
            uncovered=0,
            events=0,
            updated_at=at,
        )
        .on_conflict_do_nothing(
            index_elements=[col(ComputeUsageMonth.deployment_id), col(ComputeUsageMonth.month)]
        )
    )
    stmt = (
        sa.select(ComputeUsageMonth)
        .where(
            col(ComputeUsageMonth.deployment_id) == deployment_id,
            col(ComputeUsageMonth.month) == month,
        )
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return (await session.scalars(stmt)).one()


async def month_of(
    session: AsyncSession, deployment_id: int, month: date
) -> ComputeUsageMonth | None:
    stmt = sa.select(ComputeUsageMonth).where(
        col(ComputeUsageMonth.deployment_id) == deployment_id,
        col(ComputeUsageMonth.month) == month,
    )
    return (await session.scalars(stmt)).first()


async def compute_packs(
    session: AsyncSession, subscription_id: int, *, lock: bool = False
) -> list[ConsumablePurchase]:
    stmt = (
        sa.select(ConsumablePurchase)
        .where(
            col(ConsumablePurchase.subscription_id) == subscription_id,
            col(ConsumablePurchase.kind) == ConsumableKind.COMPUTE_MINUTES,
        )
        .order_by(col(ConsumablePurchase.expires_on), col(ConsumablePurchase.id))
    )
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    return list((await session.scalars(stmt)).all())


async def deployment_compute_packs(
    session: AsyncSession, deployment_id: int, today: date, *, lock: bool = False
) -> list[ConsumablePurchase]:
    """The unexpired compute packs bought on any of the deployment's subscriptions, soonest
    expiry first (what a deployment with no live subscription still draws on)."""
    stmt = (
        sa.select(ConsumablePurchase)
        .join(Subscription, col(Subscription.id) == col(ConsumablePurchase.subscription_id))
        .where(
            col(Subscription.deployment_id) == deployment_id,
            col(ConsumablePurchase.kind) == ConsumableKind.COMPUTE_MINUTES,
            col(ConsumablePurchase.expires_on) > today,
        )
        .order_by(col(ConsumablePurchase.expires_on), col(ConsumablePurchase.id))
    )
    if lock:
        stmt = stmt.with_for_update(of=ConsumablePurchase).execution_options(populate_existing=True)
    return list((await session.scalars(stmt)).all())


async def free_plan_quota(session: AsyncSession) -> int:
    """The Free plan's monthly compute minutes (the catalog's tier-0 plan; 0 without one)."""
    stmt = (
        sa.select(col(Product.compute_quota_minutes))
        .where(col(Product.tier) == FREE_PLAN_TIER, col(Product.kind) == ProductKind.PLAN)
        .order_by(col(Product.id))
        .limit(1)
    )
    return (await session.execute(stmt)).scalar_one_or_none() or 0


async def months_by_deployment(
    session: AsyncSession, deployment_ids: Sequence[int], month: date
) -> dict[int, ComputeUsageMonth]:
    """Each deployment's totals for `month` (absent: nothing used yet). Read for subscriptions
    the caller may see, as their packs are (the parent is scoped)."""
    if not deployment_ids:
        return {}
    stmt = sa.select(ComputeUsageMonth).where(
        col(ComputeUsageMonth.deployment_id).in_(sorted(set(deployment_ids))),
        col(ComputeUsageMonth.month) == month,
    )
    return {row.deployment_id: row for row in (await session.scalars(stmt)).all()}
