"""seatUsageReport's use case: one row per deployment and day holding the day's latest
figure, seats in use from the latest report, the term maximum from every report in the
term, seat alerts once per term and seat count, and refusals that write nothing."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from app.auth.principals import Principal, PrincipalKind
from app.db.tables import AuditEvent, Customer, Deployment, SeatUsage, Subscription
from app.domain.enums import MemberRole, SubscriptionStatus
from app.domain.errors import DomainError, ErrorCode
from app.services.orders.errors import NotAllowed
from app.services.usage.seats import SeatReportResult, report_seats
from tests.services.usage_support import PRODUCT, emails_queued, fresh, in_unit, notifications
from tests.support import factories as f
from tests.support.snapshots import table_counts

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)


def at(day: int, hour: int = 9, month: int = 5) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


async def report(
    sessions: async_sessionmaker[AsyncSession],
    deployment: str,
    users: int,
    reported_at: datetime,
    *,
    now: datetime = NOW,
) -> SeatReportResult | DomainError:
    return await in_unit(
        sessions,
        lambda s: report_seats(
            s,
            PRODUCT,
            deployment=deployment,
            billable_users=users,
            reported_at=reported_at,
            now=now,
            request_id="req-1",
        ),
    )


async def days(db: AsyncSession, deployment_id: int) -> list[tuple[date, int, datetime]]:
    stmt = (
        sa.select(SeatUsage)
        .where(col(SeatUsage.deployment_id) == deployment_id)
        .order_by(col(SeatUsage.reported_on))
        .execution_options(populate_existing=True)
    )
    return [(r.reported_on, r.billable_users, r.reported_at) for r in await db.scalars(stmt)]


async def seat_counts(db: AsyncSession, sub: Subscription) -> tuple[int, int]:
    found = await fresh(db, Subscription, sub.id)
    return found.seats_in_use, found.max_seats_used


@pytest.fixture
async def customer(db: AsyncSession) -> Customer:
    return await f.customer(db)


@pytest.fixture
async def sub(db: AsyncSession, customer: Customer) -> Subscription:
    return await f.subscription(db, customer, seats=10, seats_in_use=3, max_seats_used=3)


async def external_id(db: AsyncSession, sub: Subscription) -> str:
    deployment = await db.get(Deployment, sub.deployment_id)
    assert deployment is not None
    return deployment.external_id


async def test_a_first_report_records_the_day_and_the_seat_counts(
    db: AsyncSession, session_factory: async_sessionmaker[AsyncSession], sub: Subscription
) -> None:
    ns = await external_id(db, sub)

    result = await report(session_factory, ns, 7, at(20))

    assert isinstance(result, SeatReportResult)
    assert result.recorded is True
    assert (result.day.reported_on, result.day.billable_users) == (date(2026, 5, 20), 7)
    assert result.subscription is not None and result.subscription.id == sub.id
    assert await days(db, sub.deployment_id) == [(date(2026, 5, 20), 7, at(20))]
    assert await seat_counts(db, sub) == (7, 7)
    audit = (
        await db.scalars(
            sa.select(AuditEvent).where(col(AuditEvent.action) == "seat_usage.reported")
        )
    ).one()
    assert (audit.actor_kind, audit.actor_id, audit.target_type, audit.target_id) == (
        "SERVICE",
        "7",
        "Subscription",
        str(sub.id),
    )
    assert audit.before == {"seats_in_use": 3, "max_seats_used": 3}
    assert audit.after == {
        "seats_in_use": 7,
        "max_seats_used": 7,
        "deployment": ns,
        "reported_on": "2026-05-20",
        "reported_at": "2026-05-20T09:00:00+00:00",
        "billable_users": 7,
    }
    assert audit.request_id == "req-1"


async def test_the_same_report_twice_changes_nothing(
    db: AsyncSession, session_factory: async_sessionmaker[AsyncSession], sub: Subscription
) -> None:
    ns = await external_id(db, sub)
    await report(session_factory, ns, 7, at(20))
    before = await table_counts(db)

    again = await report(session_factory, ns, 7, at(20))

    assert isinstance(again, SeatReportResult)
    assert again.recorded is False
    assert again.day.billable_users == 7
    assert await table_counts(db) == before  # no second row, no second audit row
    assert await seat_counts(db, sub) == (7, 7)


async def test_a_later_report_on_the_same_day_replaces_the_figure_not_the_maximum(
    db: AsyncSession, session_factory: async_sessionmaker[AsyncSession], sub: Subscription
) -> None:
    ns = await external_id(db, sub)
    await report(session_factory, ns, 9, at(20, hour=8))

    result = await report(session_factory, ns, 5, at(20, hour=17))

    assert isinstance(result, SeatReportResult) and result.recorded is True
    assert await days(db, sub.deployment_id) == [(date(2026, 5, 20), 5, at(20, hour=17))]
    assert await seat_counts(db, sub) == (5, 9)


async def test_an_older_lower_report_of_the_same_day_arriving_late_is_ignored(
    db: AsyncSession, session_factory: async_sessionmaker[AsyncSession], sub: Subscription
) -> None:
    ns = await external_id(db, sub)
    await report(session_factory, ns, 5, at(20, hour=17))
    before = await table_counts(db)

    late = await report(session_factory, ns, 4, at(20, hour=8))

    assert isinstance(late, SeatReportResult)
    assert late.recorded is False
    assert (late.day.billable_users, late.day.max_billable_users) == (5, 5)
    assert await table_counts(db) == before
    assert await seat_counts(db, sub) == (5, 5)


async def test_an_older_higher_report_of_the_same_day_raises_only_the_maxima(
    db: AsyncSession, session_factory: async_sessionmaker[AsyncSession], sub: Subscription
) -> None:
    ns = await external_id(db, sub)
    await report(session_factory, ns, 5, at(20, hour=17))

    late = await report(session_factory, ns, 9, at(20, hour=8))

    assert isinstance(late, SeatReportResult)
    assert late.recorded is True
    # The day keeps its latest figure (charts, seats in use) and its greatest (billing).
    assert (late.day.billable_users, late.day.max_billable_users) == (5, 9)
    assert await days(db, sub.deployment_id) == [(date(2026, 5, 20), 5, at(20, hour=17))]
    assert await seat_counts(db, sub) == (5, 9)


async def test_a_late_report_for_an_earlier_day_raises_only_the_maximum(
    db: AsyncSession, session_factory: async_sessionmaker[AsyncSession], sub: Subscription
) -> None:
    ns = await external_id(db, sub)
    await report(session_factory, ns, 6, at(20))

    await report(session_factory, ns, 12, at(18))

    assert [(d, n) for d, n, _ in await days(db, sub.deployment_id)] == [
        (date(2026, 5, 18), 12),
        (date(2026, 5, 20), 6),
    ]
    assert await seat_counts(db, sub) == (6, 12)


async def test_a_report_dated_before_the_term_is_history_only(
    db: AsyncSession, session_factory: async_sessionmaker[AsyncSession], sub: Subscription
) -> None:
    ns = await external_id(db, sub)
    await report(session_factory, ns, 6, at(20))

    await report(session_factory, ns, 40, datetime(2025, 12, 31, 23, tzinfo=UTC))

    assert await seat_counts(db, sub) == (6, 6)
    assert len(await days(db, sub.deployment_id)) == 2


@pytest.mark.parametrize(
    ("users", "reported_at", "code"),
    [
        (-1, at(20), ErrorCode.VALIDATION),
        (5, datetime(2026, 6, 2, 0, 0, tzinfo=UTC), ErrorCode.VALIDATION),
        (5, datetime(2026, 5, 20, 9), ErrorCode.VALIDATION),
    ],
    ids=["negative", "future", "naive"],
)
async def test_implausible_reports_write_nothing(
    db: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    sub: Subscription,
    users: int,
    reported_at: datetime,
    code: ErrorCode,
) -> None:
    ns = await external_id(db, sub)
    before = await table_counts(db)

    refused = await report(session_factory, ns, users, reported_at)

    assert isinstance(refused, DomainError) and refused.code is code
    assert await table_counts(db) == before
    assert await seat_counts(db, sub) == (3, 3)


async def test_an_unknown_or_blank_deployment_is_refused(
    db: AsyncSession, session_factory: async_sessionmaker[AsyncSession], sub: Subscription
) -> None:
    before = await table_counts(db)

    unknown = await report(session_factory, "ns-does-not-exist", 5, at(20))
    blank = await report(session_factory, "  ", 5, at(20))

    assert unknown == DomainError(
        ErrorCode.NOT_FOUND, "No deployment with this namespace id or instance uuid."
    )
    assert blank == DomainError(ErrorCode.VALIDATION, "`deployment` must not be blank.")
    assert await table_counts(db) == before


async def test_a_deployment_without_a_live_subscription_still_records_its_day(
    db: AsyncSession, session_factory: async_sessionmaker[AsyncSession], customer: Customer
) -> None:
    expired = await f.subscription(
        db, customer, status=SubscriptionStatus.EXPIRED, seats_in_use=2, max_seats_used=2
    )
    ns = await external_id(db, expired)

    result = await report(session_factory, ns, 8, at(20))

    assert isinstance(result, SeatReportResult)
    assert result.subscription is None and result.recorded is True
    assert [(d, n) for d, n, _ in await days(db, expired.deployment_id)] == [(date(2026, 5, 20), 8)]
    assert await seat_counts(db, expired) == (2, 2)
    audit = (
        await db.scalars(
            sa.select(AuditEvent).where(col(AuditEvent.action) == "seat_usage.reported")
        )
    ).one()
    assert (audit.target_type, audit.target_id) == ("Deployment", str(expired.deployment_id))


async def test_only_the_product_reports(
    db: AsyncSession, session_factory: async_sessionmaker[AsyncSession], sub: Subscription
) -> None:
    ns = await external_id(db, sub)
    admin = Principal(kind=PrincipalKind.ADMIN, id="1")

    with pytest.raises(NotAllowed):
        async with session_factory() as session:
            await report_seats(
                session, admin, deployment=ns, billable_users=5, reported_at=at(20), now=NOW
            )


# --- seat alerts -------------------------------------------------------------------------


@pytest.fixture
async def contacts(db: AsyncSession, customer: Customer) -> list[int]:
    """The owner and billing admin (notified) and a viewer (not), user ids of the first two."""
    owner = await f.user(db, member_of=customer, role=MemberRole.OWNER)
    billing = await f.user(db, member_of=customer, role=MemberRole.BILLING_ADMIN)
    await f.user(db, member_of=customer, role=MemberRole.VIEWER)
    assert owner.id is not None and billing.id is not None
    return [owner.id, billing.id]


async def test_entering_the_alert_zone_notifies_the_billing_contacts_once_per_term(
    db: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    sub: Subscription,
    customer: Customer,
    contacts: list[int],
) -> None:
    ns = await external_id(db, sub)
    key = f"seat-alert:{sub.id}:2026-01-01:10"

    await report(session_factory, ns, 8, at(10))  # 2 seats left of 10: no alert
    assert await notifications(db, customer.id or 0) == []

    await report(session_factory, ns, 9, at(11))  # 1 left: alert
    expected = [("SEAT_ALERT", user_id, key) for user_id in contacts]
    assert await notifications(db, customer.id or 0) == expected
    assert await emails_queued(db) == 2

    await report(session_factory, ns, 11, at(12))  # deeper in the zone
    await report(session_factory, ns, 5, at(13))  # out of it
    await report(session_factory, ns, 10, at(14))  # back in, same term and seats
    assert await notifications(db, customer.id or 0) == expected
    assert await emails_queued(db) == 2


async def test_more_seats_make_a_new_threshold_that_alerts_again(
    db: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    sub: Subscription,
    customer: Customer,
    contacts: list[int],
) -> None:
    ns = await external_id(db, sub)
    await report(session_factory, ns, 9, at(10))
    (await fresh(db, Subscription, sub.id)).seats = 20  # the customer bought 10 seats
    await db.flush()

    await report(session_factory, ns, 18, at(11))  # 2 left of 20 (16-25 seats: alert at 2)

    keys = [key for _, _, key in await notifications(db, customer.id or 0)]
    assert keys == [f"seat-alert:{sub.id}:2026-01-01:{seats}" for seats in (10, 10, 20, 20)]


@pytest.mark.parametrize(
    ("plan", "status"),
    [("premium", SubscriptionStatus.TRIAL), ("free", SubscriptionStatus.ACTIVE)],
    ids=["trial", "free"],
)
async def test_trials_and_free_plans_send_no_seat_alert(
    db: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    customer: Customer,
    contacts: list[int],
    plan: str,
    status: SubscriptionStatus,
) -> None:
    quiet = await f.subscription(db, customer, plan, status=status, seats=10)

    await report(session_factory, await external_id(db, quiet), 10, at(10))

    assert await seat_counts(db, quiet) == (10, 10)
    assert await notifications(db, customer.id or 0) == []
