"""computeUsageReport's use case: the month's quota, then packs soonest expiry first, worked
example 5, idempotency by event id, alerts at 30/5/0% once per month, refusals that write
nothing."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from app.db.tables import (
    ComputeUsageEvent,
    ComputeUsageMonth,
    ConsumablePurchase,
    Customer,
    Deployment,
    Subscription,
)
from app.domain.enums import MemberRole, SubscriptionStatus
from app.domain.errors import DomainError, ErrorCode
from app.services.usage.compute import ComputeReportResult, current_figures, report_compute
from tests.services.usage_support import (
    PRODUCT,
    compute_pack,
    emails_queued,
    fresh,
    in_unit,
    notifications,
)
from tests.support import factories as f
from tests.support.snapshots import table_counts

APRIL = datetime(2026, 4, 10, 12, tzinfo=UTC)


async def report(
    sessions: async_sessionmaker[AsyncSession],
    deployment: str,
    event_id: str,
    minutes: int,
    *,
    now: datetime = APRIL,
) -> ComputeReportResult | DomainError:
    return await in_unit(
        sessions,
        lambda s: report_compute(
            s,
            PRODUCT,
            deployment=deployment,
            event_id=event_id,
            minutes=minutes,
            now=now,
            request_id="req-9",
        ),
    )


async def external_id(db: AsyncSession, sub: Subscription) -> str:
    deployment = await db.get(Deployment, sub.deployment_id)
    assert deployment is not None
    return deployment.external_id


async def month_row(db: AsyncSession, deployment_id: int, month: date) -> tuple[int, int, int, int]:
    stmt = (
        sa.select(ComputeUsageMonth)
        .where(
            col(ComputeUsageMonth.deployment_id) == deployment_id,
            col(ComputeUsageMonth.month) == month,
        )
        .execution_options(populate_existing=True)
    )
    row = (await db.scalars(stmt)).one()
    return row.quota_used, row.purchased_used, row.uncovered, row.events


@pytest.fixture
async def customer(db: AsyncSession) -> Customer:
    return await f.customer(db)


@pytest.fixture
async def premium(db: AsyncSession, customer: Customer) -> Subscription:
    return await f.subscription(db, customer, "premium")


@pytest.fixture
async def pack(db: AsyncSession, premium: Subscription) -> ConsumablePurchase:
    """5 000 purchased minutes, bought in March, valid 12 months."""
    return await compute_pack(
        db, premium, 5_000, purchased_on=date(2026, 3, 15), expires_on=date(2027, 3, 15)
    )


async def test_worked_example_5(
    db: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    premium: Subscription,
    pack: ConsumablePurchase,
) -> None:
    ns = await external_id(db, premium)

    results = [
        await report(session_factory, ns, f"april-{n}", minutes)
        for n, minutes in enumerate((6_000, 4_000, 3_000))
    ]

    splits = [
        (r.event.from_quota, r.event.from_purchased, r.event.uncovered)
        for r in results
        if isinstance(r, ComputeReportResult)
    ]
    assert splits == [(6_000, 0, 0), (4_000, 0, 0), (0, 3_000, 0)]
    assert (await fresh(db, ConsumablePurchase, pack.id)).units_used == 3_000
    assert await month_row(db, premium.deployment_id, date(2026, 4, 1)) == (10_000, 3_000, 0, 3)
    last = results[-1]
    assert isinstance(last, ComputeReportResult)
    assert (last.figures.purchased_remaining, last.figures.available) == (2_000, 2_000)

    deployment = await fresh(db, Deployment, premium.deployment_id)
    may = await current_figures(db, deployment, premium, datetime(2026, 5, 1, tzinfo=UTC))
    assert (may.monthly_quota, may.quota_used, may.purchased_remaining, may.available) == (
        10_000,
        0,
        2_000,
        12_000,
    )


async def test_may_draws_on_the_new_quota_before_the_rolled_over_minutes(
    db: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    premium: Subscription,
    pack: ConsumablePurchase,
) -> None:
    ns = await external_id(db, premium)
    await report(session_factory, ns, "april", 13_000)

    may = await report(session_factory, ns, "may", 11_000, now=datetime(2026, 5, 3, 8, tzinfo=UTC))

    assert isinstance(may, ComputeReportResult)
    assert (may.event.from_quota, may.event.from_purchased, may.event.uncovered) == (
        10_000,
        1_000,
        0,
    )
    assert may.event.month == date(2026, 5, 1)
    assert (await fresh(db, ConsumablePurchase, pack.id)).units_used == 4_000
    assert await month_row(db, premium.deployment_id, date(2026, 5, 1)) == (10_000, 1_000, 0, 1)


async def test_packs_are_used_soonest_expiry_first_and_expired_ones_never(
    db: AsyncSession, session_factory: async_sessionmaker[AsyncSession], premium: Subscription
) -> None:
    late = await compute_pack(
        db, premium, 1_000, purchased_on=date(2026, 3, 1), expires_on=date(2027, 3, 1)
    )
    soon = await compute_pack(
        db, premium, 1_000, purchased_on=date(2025, 9, 1), expires_on=date(2026, 9, 1)
    )
    expired = await compute_pack(
        db, premium, 1_000, purchased_on=date(2025, 4, 10), expires_on=date(2026, 4, 10)
    )
    ns = await external_id(db, premium)

    result = await report(session_factory, ns, "big", 12_500)

    assert isinstance(result, ComputeReportResult)
    assert result.event.packs == [[soon.id, 1_000], [late.id, 1_000]]
    assert (result.event.from_quota, result.event.from_purchased, result.event.uncovered) == (
        10_000,
        2_000,
        500,
    )
    used = [(await fresh(db, ConsumablePurchase, p.id)).units_used for p in (late, soon, expired)]
    assert used == [1_000, 1_000, 0]


async def test_the_same_event_twice_counts_once(
    db: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    premium: Subscription,
    pack: ConsumablePurchase,
) -> None:
    ns = await external_id(db, premium)
    first = await report(session_factory, ns, "job-1", 10_500)
    before = await table_counts(db)

    again = await report(session_factory, ns, "  job-1 ", 10_500)

    assert isinstance(first, ComputeReportResult) and isinstance(again, ComputeReportResult)
    assert (first.duplicate, again.duplicate) == (False, True)
    assert again.event.id == first.event.id
    assert (again.event.from_quota, again.event.from_purchased) == (10_000, 500)
    assert again.figures == first.figures
    assert await table_counts(db) == before
    assert (await fresh(db, ConsumablePurchase, pack.id)).units_used == 500
    assert await month_row(db, premium.deployment_id, date(2026, 4, 1)) == (10_000, 500, 0, 1)


async def test_an_event_id_reused_with_other_minutes_or_elsewhere_changes_nothing(
    db: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    customer: Customer,
    premium: Subscription,
    pack: ConsumablePurchase,
) -> None:
    ns = await external_id(db, premium)
    other = await external_id(db, await f.subscription(db, customer, "ultimate"))
    await report(session_factory, ns, "job-1", 10_500)
    before = await table_counts(db)

    changed = await report(session_factory, ns, "job-1", 10_501)
    elsewhere = await report(session_factory, other, "job-1", 10_500)

    reused = DomainError(
        ErrorCode.IDEMPOTENCY_KEY_REUSED,
        "This event id was already reported with other minutes or for another deployment.",
    )
    assert changed == reused and elsewhere == reused
    assert await table_counts(db) == before
    assert (await fresh(db, ConsumablePurchase, pack.id)).units_used == 500
    assert await month_row(db, premium.deployment_id, date(2026, 4, 1)) == (10_000, 500, 0, 1)


@pytest.mark.parametrize(
    ("deployment", "event_id", "minutes", "code"),
    [
        ("ns-nowhere", "e-1", 10, ErrorCode.NOT_FOUND),
        (None, "e-1", 0, ErrorCode.VALIDATION),
        (None, "e-1", -3, ErrorCode.VALIDATION),
        (None, "", 10, ErrorCode.VALIDATION),
        ("", "e-1", 10, ErrorCode.VALIDATION),
    ],
    ids=["unknown-deployment", "zero", "negative", "blank-event", "blank-deployment"],
)
async def test_refused_reports_write_nothing(
    db: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    premium: Subscription,
    deployment: str | None,
    event_id: str,
    minutes: int,
    code: ErrorCode,
) -> None:
    ns = await external_id(db, premium) if deployment is None else deployment
    before = await table_counts(db)

    refused = await report(session_factory, ns, event_id, minutes)

    assert isinstance(refused, DomainError) and refused.code is code
    assert await table_counts(db) == before


async def test_a_deployment_without_a_live_subscription_has_free_quota_and_its_packs(
    db: AsyncSession, session_factory: async_sessionmaker[AsyncSession], customer: Customer
) -> None:
    """After the paid term and then a trial ended: the Free plan's 400 minutes, then the
    unexpired packs of both earlier subscriptions (soonest expiry first), then uncovered."""
    paid = await f.subscription(db, customer, status=SubscriptionStatus.EXPIRED)
    deployment = await db.get(Deployment, paid.deployment_id)
    trial = await f.subscription(
        db, customer, "ultimate", deployment=deployment, status=SubscriptionStatus.EXPIRED
    )
    later = await compute_pack(
        db, trial, 1_000, purchased_on=date(2026, 3, 1), expires_on=date(2027, 3, 1)
    )
    sooner = await compute_pack(
        db, paid, 1_000, used=800, purchased_on=date(2026, 1, 1), expires_on=date(2026, 12, 1)
    )
    await compute_pack(
        db, paid, 1_000, purchased_on=date(2025, 3, 1), expires_on=date(2026, 4, 10)
    )  # ended today
    await f.user(db, member_of=customer)
    ns = await external_id(db, paid)

    result = await report(session_factory, ns, "e-1", 1_500)

    assert isinstance(result, ComputeReportResult)
    assert result.subscription is None and result.event.subscription_id is None
    split = (result.event.from_quota, result.event.from_purchased, result.event.uncovered)
    assert split == (400, 1_100, 0)
    assert result.event.packs == [[sooner.id, 200], [later.id, 900]]
    assert (result.figures.monthly_quota, result.figures.purchased_remaining) == (400, 100)
    assert (await fresh(db, ConsumablePurchase, later.id)).units_used == 900
    assert await month_row(db, paid.deployment_id, date(2026, 4, 1)) == (400, 1_100, 0, 1)

    more = await report(session_factory, ns, "e-2", 150)

    assert isinstance(more, ComputeReportResult)
    assert (more.event.from_quota, more.event.from_purchased, more.event.uncovered) == (0, 100, 50)
    assert await notifications(db, customer.id or 0) == []


async def test_the_event_records_who_reported_it(
    db: AsyncSession, session_factory: async_sessionmaker[AsyncSession], premium: Subscription
) -> None:
    await report(session_factory, await external_id(db, premium), "e-1", 300)

    event = (
        await db.scalars(
            sa.select(ComputeUsageEvent).where(col(ComputeUsageEvent.event_id) == "e-1")
        )
    ).one()
    assert (event.reported_by, event.request_id, event.reported_at) == ("service:7", "req-9", APRIL)
    assert (event.deployment_id, event.subscription_id) == (premium.deployment_id, premium.id)


# --- alerts ----------------------------------------------------------------------------------


async def test_alerts_at_30_5_and_0_percent_once_per_month(
    db: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    customer: Customer,
    premium: Subscription,
    pack: ConsumablePurchase,
) -> None:
    owner = await f.user(db, member_of=customer, role=MemberRole.OWNER)
    await f.user(db, member_of=customer, role=MemberRole.VIEWER)
    ns = await external_id(db, premium)
    dep = premium.deployment_id

    async def keys_after(event_id: str, minutes: int, now: datetime = APRIL) -> list[str]:
        await report(session_factory, ns, event_id, minutes, now=now)
        return [key for _, _, key in await notifications(db, customer.id or 0)]

    # April has 15 000 minutes: 10 000 of quota and the 5 000-minute pack.
    assert await keys_after("a", 10_000) == []  # 5 000 left: 33%
    assert await keys_after("b", 499) == []  # 4 501 left
    april_30 = f"compute-minutes:{dep}:2026-04:30"
    assert await keys_after("c", 1) == [april_30]  # 4 500 left: 30%
    assert await keys_after("d", 3_000) == [april_30]  # 1 500 left: 10%
    april_5 = f"compute-minutes:{dep}:2026-04:5"
    assert await keys_after("e", 750) == [april_30, april_5]  # 750 left: 5%
    april_0 = f"compute-minutes:{dep}:2026-04:0"
    assert await keys_after("f", 900) == [april_30, april_5, april_0]  # 150 uncovered
    assert await keys_after("g", 10) == [april_30, april_5, april_0]

    # May: 10 000 of quota, no purchased minutes left; one big report alerts at 0% only.
    may = datetime(2026, 5, 2, tzinfo=UTC)
    assert await keys_after("h", 12_000, now=may) == [
        april_30,
        april_5,
        april_0,
        f"compute-minutes:{dep}:2026-05:0",
    ]
    found = await notifications(db, customer.id or 0)
    assert {(kind, user) for kind, user, _ in found} == {("CONSUMABLE_THRESHOLD", owner.id)}
    assert await emails_queued(db) == 4
