"""Quarterly reconciliation through the worker's jobs: worked example 4 to the cent, with
the notice on the quarter end and the invoice 7 days later; the same result when the clock
jumps; seats bought in the 7 days; a declined charge; exactly-once under reruns and outages;
and a quarterly subscription renews only once its quarters are closed."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from app.clock import FixedClock
from app.config import Settings
from app.db.tables import Reconciliation, Subscription
from app.domain.enums import ReconciliationMode
from app.providers.billing import PaymentRecord
from app.providers.errors import ProviderUnavailable
from app.providers.registry import build_providers
from app.runtime import Runtime, build_runtime
from tests.services.lifecycle_support import (
    at,
    audit_actions,
    invoices_of,
    ledger,
    lines_of,
    notices,
    reload,
    run_at,
    subscribed,
)
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


async def example_4(db: AsyncSession, **overrides: Any) -> Subscription:
    """Premium, 100 seats, 2026-01-01 .. 2027-01-01; quarter maxima 110, 105, 120 (and 130
    in quarter 4). Reports on a quarter's first and last day count in that quarter only."""
    sub = await subscribed(db, seats=100, **overrides)
    for day, users in (
        (date(2026, 1, 1), 100),
        (date(2026, 3, 31), 110),
        (date(2026, 4, 1), 105),
        (date(2026, 6, 30), 101),
        (date(2026, 7, 1), 99),
        (date(2026, 9, 30), 120),
        (date(2026, 10, 1), 130),
    ):
        await f.seat_report(db, sub, day, users)
    return sub


async def records(
    db: AsyncSession, sub: Subscription, term_start: date = date(2026, 1, 1)
) -> list[tuple[Any, ...]]:
    stmt = (
        sa.select(Reconciliation)
        .where(
            col(Reconciliation.subscription_id) == sub.id,
            col(Reconciliation.term_start) == term_start,
        )
        .order_by(col(Reconciliation.quarter))
        .execution_options(populate_existing=True)
    )
    return [
        (r.quarter, r.status.value, r.max_seats_used, r.overage_seats, r.billed_seats, r.amount)
        for r in (await db.scalars(stmt)).all()
    ]


EXAMPLE_4 = [
    (1, "PAID", 110, 10, 10, 261_000),
    (2, "NOTHING_DUE", 105, 0, None, 0),
    (3, "PAID", 120, 10, 10, 87_000),
]


async def test_worked_example_4_day_by_day(
    db: AsyncSession, runtime: Runtime, clock: FixedClock
) -> None:
    sub = await example_4(db)

    await run_at(runtime, clock, at(date(2026, 3, 31)))
    assert await notices(db, sub) == []
    await run_at(runtime, clock, at(date(2026, 4, 1)))
    assert await notices(db, sub) == [("RECONCILIATION_NOTICE", date(2026, 4, 1))]
    assert (await reload(db, sub)).seats == 100  # seats rise with the invoice
    await run_at(runtime, clock, at(date(2026, 4, 7)))
    assert await invoices_of(db, sub) == []
    await run_at(runtime, clock, at(date(2026, 4, 8)))

    [q1] = await invoices_of(db, sub)
    assert (q1.status, q1.total, q1.issued_on) == ("PAID", 261_000, date(2026, 4, 8))
    [(description, *line)] = await lines_of(db, q1)
    assert line == [10, 34_800, 261_000]
    assert description.startswith("Quarter 1 reconciliation: 10 seat(s)")
    assert (await reload(db, sub)).seats == 110

    for day in (date(2026, 7, 1), date(2026, 7, 8), date(2026, 9, 30)):
        await run_at(runtime, clock, at(day))
    assert len(await invoices_of(db, sub)) == 1
    await run_at(runtime, clock, at(date(2026, 10, 1)))
    await run_at(runtime, clock, at(date(2026, 10, 8)))
    await run_at(runtime, clock, at(date(2026, 12, 31)))

    q1, q3 = await invoices_of(db, sub)
    assert (q3.status, q3.total, q3.issued_on) == ("PAID", 87_000, date(2026, 10, 8))
    assert (await reload(db, sub)).seats == 120
    assert await records(db, sub) == EXAMPLE_4
    assert await ledger(db) == (2, [(261_000, "SUCCEEDED"), (87_000, "SUCCEEDED")])
    assert await notices(db, sub) == [
        ("RECONCILIATION_NOTICE", date(2026, 4, 1)),
        ("RECONCILIATION_INVOICE", date(2026, 4, 8)),
        ("RECONCILIATION_NOTICE", date(2026, 10, 1)),
        ("RECONCILIATION_INVOICE", date(2026, 10, 8)),
        ("RENEWAL_REMINDER", date(2026, 12, 31)),  # the clock skipped 12-17 .. 12-30
    ]
    assert await audit_actions(db, sub) == {
        "reconciliation.noticed": 2,
        "reconciliation.invoiced": 2,
    }


async def test_worked_example_4_in_one_jump_then_the_renewal(
    db: AsyncSession, runtime: Runtime, clock: FixedClock
) -> None:
    sub = await example_4(db, seats_in_use=130, max_seats_used=130)

    await run_at(runtime, clock, at(date(2027, 1, 1)))

    assert await records(db, sub) == EXAMPLE_4
    q1, q3, renewal = await invoices_of(db, sub)
    assert (q1.total, q3.total) == (261_000, 87_000)
    # Quarter 4 is not reconciled: the renewal takes max(120 seats, 130 billable), no true-up.
    assert (renewal.total, renewal.status) == (130 * 34_800, "PAID")
    sub = await reload(db, sub)
    assert (sub.seats, sub.term_start, sub.max_seats_used) == (130, date(2027, 1, 1), 130)
    # The new term's quarters are scheduled, none due yet.
    assert [r[:2] for r in await records(db, sub, date(2027, 1, 1))] == [
        (1, "SCHEDULED"),
        (2, "SCHEDULED"),
        (3, "SCHEDULED"),
    ]
    assert await ledger(db) == (
        3,
        [(261_000, "SUCCEEDED"), (87_000, "SUCCEEDED"), (4_524_000, "SUCCEEDED")],
    )


async def test_seats_bought_in_the_seven_days_are_not_billed_again(
    db: AsyncSession, runtime: Runtime, clock: FixedClock
) -> None:
    partly = await example_4(db)
    fully = await example_4(db)
    await run_at(runtime, clock, at(date(2026, 4, 1)))
    partly.seats, fully.seats = 105, 112  # add-seat orders placed after the notice
    await db.flush()

    await run_at(runtime, clock, at(date(2026, 4, 8)))

    [invoice] = await invoices_of(db, partly)
    assert invoice.total == 5 * 34_800 * 3 // 4 == 130_500
    assert (await reload(db, partly)).seats == 110
    assert await invoices_of(db, fully) == []
    assert (await reload(db, fully)).seats == 112
    assert (await records(db, fully))[0] == (1, "SETTLED", 110, 10, 0, 0)
    assert await ledger(db) == (1, [(130_500, "SUCCEEDED")])


async def test_a_declined_charge_leaves_the_invoice_open_and_raises_the_seats(
    db: AsyncSession, runtime: Runtime, clock: FixedClock
) -> None:
    sub = await example_4(db, payment_method="pm_card_declined")

    await run_at(runtime, clock, at(date(2026, 4, 8)))

    [invoice] = await invoices_of(db, sub)
    assert (invoice.status, invoice.total) == ("OPEN", 261_000)
    assert (await reload(db, sub)).seats == 110
    assert (await records(db, sub))[0] == (1, "DECLINED", 110, 10, 10, 261_000)
    assert [kind for kind, _ in await notices(db, sub)] == [
        "RECONCILIATION_NOTICE",
        "RECONCILIATION_INVOICE",
        "PAYMENT_FAILED",
    ]
    assert (await reload(db, sub)).status == "ACTIVE"
    # Quarter 2 compares with the raised seats: nothing is billed twice.
    await run_at(runtime, clock, at(date(2026, 7, 8)))
    assert len(await invoices_of(db, sub)) == 1


class FlakyCollect:
    def __init__(self, inner: Any, failures: int) -> None:
        self.inner, self.failures = inner, failures

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def collect_payment(
        self, invoice_ref: str, payment_method: str, *, idempotency_key: str
    ) -> PaymentRecord:
        if self.failures > 0:
            self.failures -= 1
            raise ProviderUnavailable("local", "down")
        return await self.inner.collect_payment(
            invoice_ref, payment_method, idempotency_key=idempotency_key
        )


async def test_reruns_and_an_outage_bill_once(
    db: AsyncSession, runtime: Runtime, clock: FixedClock
) -> None:
    sub = await example_4(db)
    runtime.providers.billing = FlakyCollect(runtime.providers.billing, failures=1)

    await run_at(runtime, clock, at(date(2026, 4, 8)))
    assert (await records(db, sub))[0][:2] == (1, "INVOICING")
    assert await ledger(db) == (1, [])
    await run_at(runtime, clock, at(date(2026, 4, 8)) + timedelta(minutes=1))
    await run_at(runtime, clock, at(date(2026, 4, 8)) + timedelta(minutes=6))
    await run_at(runtime, clock, at(date(2026, 4, 9)))

    assert (await records(db, sub))[0] == EXAMPLE_4[0]
    assert await ledger(db) == (1, [(261_000, "SUCCEEDED")])
    assert len(await invoices_of(db, sub)) == 1
    assert [kind for kind, _ in await notices(db, sub)].count("RECONCILIATION_NOTICE") == 1


async def test_only_quarterly_paid_active_subscriptions_are_reconciled(
    db: AsyncSession, runtime: Runtime, clock: FixedClock
) -> None:
    annual = await example_4(db, mode=ReconciliationMode.ANNUAL_TRUE_UP)
    free = await example_4(db, plan="free")

    await run_at(runtime, clock, at(date(2026, 10, 8)))

    assert await records(db, annual) == []
    assert await records(db, free) == []
    assert await ledger(db) == (0, [])


async def test_one_failing_subscription_does_not_hold_up_the_batch(
    db: AsyncSession, runtime: Runtime, clock: FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    broken = await example_4(db, currency="EUR")  # the catalog has no EUR prices
    healthy = await example_4(db)

    await run_at(runtime, clock, at(date(2026, 4, 1)))

    assert [r[:2] for r in await records(db, broken)] == [
        (1, "SCHEDULED"),
        (2, "SCHEDULED"),
        (3, "SCHEDULED"),
    ]
    assert (await records(db, healthy))[0][:2] == (1, "NOTICED")
    assert "left due for a later round" in caplog.text
