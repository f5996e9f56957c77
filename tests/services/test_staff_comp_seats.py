"""Comp seats through the worker's jobs (docs/staff-tools.md): they cover usage in the
quarterly reconciliation (worked example 4 with 5 comp seats), are never billed, and end at
the renewal, whose seats follow the usual rule."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.clock import FixedClock
from app.config import Settings
from app.domain.enums import ReconciliationMode
from app.providers.registry import build_providers
from app.runtime import Runtime, build_runtime
from tests.services.lifecycle_support import at, invoices_of, lines_of, reload, run_at, subscribed
from tests.support import factories as f


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(at(date(2026, 1, 1)))


@pytest.fixture
def runtime(
    settings: Settings, session_factory: async_sessionmaker[AsyncSession], clock: FixedClock
) -> Runtime:
    providers = build_providers(settings, session_factory, clock)
    return build_runtime(settings, sessions=session_factory, clock=clock, providers=providers)


async def test_comp_seats_cover_overage_then_end_at_renewal(
    db: AsyncSession, runtime: Runtime, clock: FixedClock
) -> None:
    # Example 4 (100 paid seats; quarter maxima 110, 105, 120) with 5 comp seats.
    sub = await subscribed(db, seats=100, comp_seats=5, seats_in_use=130, max_seats_used=130)
    for day, users in (
        (date(2026, 3, 31), 110),
        (date(2026, 4, 1), 105),
        (date(2026, 9, 30), 120),
        (date(2026, 10, 1), 130),
    ):
        await f.seat_report(db, sub, day, users)

    await run_at(runtime, clock, at(date(2026, 4, 8)))
    (q1,) = await invoices_of(db, sub)
    # 110 used - (100 paid + 5 comp) = 5 seats x 34 800 x 3/4.
    assert q1.total == 130_500
    [(description, *line)] = await lines_of(db, q1)
    assert line == [5, 34_800, 130_500]
    assert description.startswith("Quarter 1 reconciliation: 5 seat(s)")
    assert ((await reload(db, sub)).seats, sub.comp_seats) == (105, 5)

    await run_at(runtime, clock, at(date(2026, 10, 8)))
    q1, q3 = await invoices_of(db, sub)
    # Quarter 2 (105) is covered; quarter 3: 120 - (105 + 5) = 10 seats x 34 800 x 1/4.
    assert q3.total == 87_000
    assert ((await reload(db, sub)).seats, sub.comp_seats) == (115, 5)

    await run_at(runtime, clock, at(date(2027, 1, 1)))
    q1, q3, renewal = await invoices_of(db, sub)
    sub = await reload(db, sub)
    # The new term: max(115 paid, 130 billable) paid seats; the comp seats were for 2026.
    assert (renewal.total, renewal.status) == (130 * 34_800, "PAID")
    assert (sub.term_start, sub.seats, sub.comp_seats) == (date(2027, 1, 1), 130, 0)


async def test_comp_seats_reduce_the_annual_true_up(
    db: AsyncSession, runtime: Runtime, clock: FixedClock
) -> None:
    sub = await subscribed(
        db,
        seats=100,
        comp_seats=4,
        mode=ReconciliationMode.ANNUAL_TRUE_UP,
        seats_in_use=100,
        max_seats_used=110,
    )

    await run_at(runtime, clock, at(date(2027, 1, 1)))

    (renewal,) = await invoices_of(db, sub)
    lines = await lines_of(db, renewal)
    true_up = [line for line in lines if line[0].startswith("True-up")]
    # 110 used - (100 paid + 4 comp) = 6 seats at the full annual price.
    assert [line[1:] for line in true_up] == [(6, 34_800, 6 * 34_800)]
    assert (await reload(db, sub)).comp_seats == 0
