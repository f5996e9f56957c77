"""A day's peak is billed: the day's row keeps its latest figure for the charts and its
greatest one for the quarterly reconciliation, whatever order the reports arrive in."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from app.clock import FixedClock
from app.config import Settings
from app.db.tables import Deployment, SeatUsage, Subscription
from app.providers.registry import build_providers
from app.runtime import Runtime, build_runtime
from app.services.usage.seats import report_seats
from tests.services.lifecycle_support import at, invoices_of, reload, run_at, subscribed
from tests.services.usage_support import PRODUCT, in_unit

MARCH_10 = date(2026, 3, 10)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(at(date(2026, 1, 1)))


@pytest.fixture
def runtime(
    settings: Settings, session_factory: async_sessionmaker[AsyncSession], clock: FixedClock
) -> Runtime:
    providers = build_providers(settings, session_factory, clock)
    return build_runtime(settings, sessions=session_factory, clock=clock, providers=providers)


async def report(runtime: Runtime, deployment: str, users: int, hour: int) -> None:
    reported_at = datetime(2026, 3, 10, hour, tzinfo=UTC)
    result = await in_unit(
        runtime.sessions,
        lambda s: report_seats(
            s,
            PRODUCT,
            deployment=deployment,
            billable_users=users,
            reported_at=reported_at,
            now=datetime(2026, 3, 10, 20, tzinfo=UTC),
        ),
    )
    assert not isinstance(result, Exception)


async def day_row(db: AsyncSession, sub: Subscription) -> tuple[int, int, datetime]:
    stmt = (
        sa.select(SeatUsage)
        .where(col(SeatUsage.deployment_id) == sub.deployment_id)
        .execution_options(populate_existing=True)
    )
    [row] = (await db.scalars(stmt)).all()
    assert row.reported_on == MARCH_10
    return row.billable_users, row.max_billable_users, row.reported_at.astimezone(UTC)


@pytest.mark.parametrize("order", [(9, 18), (18, 9)], ids=["in-order", "peak-arrives-late"])
async def test_a_same_day_peak_is_billed_at_the_quarter_end(
    db: AsyncSession, runtime: Runtime, clock: FixedClock, order: tuple[int, int]
) -> None:
    sub = await subscribed(db, seats=100)
    deployment = await db.get(Deployment, sub.deployment_id)
    assert deployment is not None
    figures = {9: 110, 18: 100}
    for hour in order:
        await report(runtime, deployment.external_id, figures[hour], hour)

    assert await day_row(db, sub) == (100, 110, datetime(2026, 3, 10, 18, tzinfo=UTC))
    found = await reload(db, sub)
    assert (found.seats_in_use, found.max_seats_used) == (100, 110)

    await run_at(runtime, clock, at(date(2026, 4, 1)))
    await run_at(runtime, clock, at(date(2026, 4, 8)))

    [q1] = await invoices_of(db, sub)
    assert (q1.status, q1.total, q1.issued_on) == ("PAID", 261_000, date(2026, 4, 8))
    assert (await reload(db, sub)).seats == 110


async def test_a_lower_late_report_writes_nothing(db: AsyncSession, runtime: Runtime) -> None:
    sub = await subscribed(db, seats=100)
    deployment = await db.get(Deployment, sub.deployment_id)
    assert deployment is not None
    await report(runtime, deployment.external_id, 110, 18)
    await report(runtime, deployment.external_id, 105, 9)

    assert await day_row(db, sub) == (110, 110, datetime(2026, 3, 10, 18, tzinfo=UTC))
