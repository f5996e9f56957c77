"""The lifecycle jobs' claims: each item's lease is renewed just before its charge (a slow
batch never charges an item whose lease ran out), a successful charge is recorded even when
the claim was lost, expiry waits for a renewal still being charged, and a reconciliation
charge in doubt is resumed rather than skipped."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from app.clock import FixedClock
from app.config import Settings
from app.db.tables import BillingAccount, OrderLease, Payment, Reconciliation, Renewal, Subscription
from app.domain.enums import InvoiceStatus, ReconciliationMode, SubscriptionStatus
from app.domain.lifecycle import RenewalStatus
from app.domain.reconciliation import ReconciliationStatus
from app.providers.billing import PaymentRecord
from app.providers.errors import ProviderUnavailable
from app.providers.registry import build_providers
from app.runtime import Runtime, build_runtime
from app.services.lifecycle.expiry import ExpiryJob
from tests.services.lifecycle_support import (
    OPTIONS,
    at,
    invoices_of,
    ledger,
    reload,
    run_at,
    subscribed,
)
from tests.support import factories as f

TERM_END = date(2027, 1, 1)
ANNUAL = ReconciliationMode.ANNUAL_TRUE_UP


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(at(date(2026, 6, 1)))


@pytest.fixture
def runtime(
    settings: Settings, session_factory: async_sessionmaker[AsyncSession], clock: FixedClock
) -> Runtime:
    providers = build_providers(settings, session_factory, clock)
    return build_runtime(settings, sessions=session_factory, clock=clock, providers=providers)


class Billing:
    """The billing provider with hooks around collect_payment: `before` runs before each
    charge, `after` after one that went through; `down` makes it unreachable."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.down = inner, False
        self.before: Any = None
        self.after: Any = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def collect_payment(
        self, invoice_ref: str, payment_method: str, *, idempotency_key: str
    ) -> PaymentRecord:
        if self.down:
            raise ProviderUnavailable("local", "down")
        if self.before:
            await self.before()
        record: PaymentRecord = await self.inner.collect_payment(
            invoice_ref, payment_method, idempotency_key=idempotency_key
        )
        if self.after:
            await self.after()
        return record


async def _leases(db: AsyncSession) -> list[datetime]:
    stmt = sa.select(col(OrderLease.expires_at)).execution_options(populate_existing=True)
    return list((await db.scalars(stmt)).all())


async def test_a_slow_charge_does_not_leave_later_items_charged_without_a_lease(
    db: AsyncSession, runtime: Runtime, clock: FixedClock
) -> None:
    subs = [await subscribed(db, seats=10, mode=ANNUAL) for _ in range(3)]
    billing = runtime.providers.billing = Billing(runtime.providers.billing)
    seen: list[tuple[datetime, datetime]] = []

    async def slow() -> None:  # each charge takes 3 minutes of the 5-minute lease
        now = clock.now()
        # Every lease the job still holds; the one of the item being charged is the latest.
        seen.append((now, max(_aware(e) for e in await _leases(db))))
        clock.set(now + timedelta(minutes=3))

    billing.before = slow
    await run_at(runtime, clock, at(TERM_END))

    assert [now for now, _ in seen] == [at(TERM_END) + timedelta(minutes=3 * n) for n in range(3)]
    assert all(until == now + timedelta(minutes=5) for now, until in seen)
    for sub in subs:
        assert (await reload(db, sub)).term_end == date(2028, 1, 1)
    assert await ledger(db) == (3, [(348_000, "SUCCEEDED")] * 3)
    assert await _leases(db) == []


async def test_a_charge_recorded_after_the_claim_was_lost(
    db: AsyncSession, runtime: Runtime, clock: FixedClock
) -> None:
    sub = await subscribed(db, seats=10, mode=ANNUAL)
    billing = runtime.providers.billing = Billing(runtime.providers.billing)

    async def stolen() -> None:  # another worker re-claimed it meanwhile
        await db.execute(sa.update(Renewal).values(claimed_by="worker-b"))

    billing.after = stolen
    await run_at(runtime, clock, at(TERM_END))

    renewal = (await db.scalars(sa.select(Renewal))).one()
    await db.refresh(renewal)
    assert renewal.status is RenewalStatus.PAID
    sub = await reload(db, sub)
    assert (sub.status, sub.term_end) == (SubscriptionStatus.ACTIVE, date(2028, 1, 1))
    [invoice] = await invoices_of(db, sub)
    assert (invoice.status, invoice.amount_paid) == (InvoiceStatus.PAID, 348_000)
    payments = (await db.scalars(sa.select(Payment))).all()
    assert [(p.invoice_id, p.amount, p.status) for p in payments] == [
        (invoice.id, 348_000, "SUCCEEDED")
    ]
    assert await ledger(db) == (1, [(348_000, "SUCCEEDED")])


async def test_expiry_waits_for_a_renewal_still_being_charged(
    db: AsyncSession, runtime: Runtime, clock: FixedClock
) -> None:
    sub = await subscribed(db, seats=10, mode=ANNUAL, payment_method="pm_card_declined")
    billing = runtime.providers.billing = Billing(runtime.providers.billing)
    await run_at(runtime, clock, at(TERM_END))  # declined: grace, retried on 01-04
    account = await db.get(BillingAccount, sub.billing_account_id)
    assert account is not None
    account.payment_method = "pm_card_visa"
    billing.down = True
    await run_at(runtime, clock, at(date(2027, 1, 4)))  # the retry is in doubt: PENDING
    # Grace ended with the charge still in doubt: the expiry job alone, then whole rounds.
    clock.set(at(date(2027, 1, 15)))
    assert await ExpiryJob(OPTIONS).run(runtime, clock.now()) == 0
    for day in (date(2027, 1, 15), date(2027, 1, 20)):
        await run_at(runtime, clock, at(day))
        sub = await reload(db, sub)
        assert sub.status is SubscriptionStatus.GRACE
        renewal = (await db.scalars(sa.select(Renewal))).one()
        await db.refresh(renewal)
        assert (renewal.status, renewal.attempts) == (RenewalStatus.PENDING, 2)
        [invoice] = await invoices_of(db, sub)
        assert invoice.status is InvoiceStatus.OPEN

    billing.down = False
    await run_at(runtime, clock, at(date(2027, 1, 21)))

    sub = await reload(db, sub)
    assert (sub.status, sub.term_end) == (SubscriptionStatus.ACTIVE, date(2028, 1, 1))
    [invoice] = await invoices_of(db, sub)
    assert invoice.status is InvoiceStatus.PAID
    assert (await ledger(db))[1] == [(348_000, "FAILED"), (348_000, "SUCCEEDED")]


def _aware(moment: datetime) -> datetime:
    """SQLite hands timestamps back naive (UTC)."""
    return moment if moment.tzinfo else moment.replace(tzinfo=at(TERM_END).tzinfo)


async def _overage(db: AsyncSession) -> Subscription:
    """Quarterly, 100 seats paid, 110 used in quarter 1: 261,000 invoiced on 2026-04-08."""
    sub = await subscribed(db, seats=100)
    await f.seat_report(db, sub, date(2026, 3, 31), 110)
    return sub


async def _reconciliation(db: AsyncSession) -> Reconciliation:
    stmt = sa.select(Reconciliation).where(col(Reconciliation.quarter) == 1)
    row = (await db.scalars(stmt.execution_options(populate_existing=True))).one()
    return row


async def test_an_in_doubt_reconciliation_charge_is_resumed_not_skipped(
    db: AsyncSession, runtime: Runtime, clock: FixedClock
) -> None:
    sub = await _overage(db)
    await run_at(runtime, clock, at(date(2026, 4, 1)))
    billing = runtime.providers.billing = Billing(runtime.providers.billing)

    async def timed_out() -> None:
        billing.after = None
        raise ProviderUnavailable("local", "timed out reading the answer")

    billing.after = timed_out
    await run_at(runtime, clock, at(date(2026, 4, 8)))
    assert (await _reconciliation(db)).status is ReconciliationStatus.INVOICING
    sub.reconciliation_mode = ANNUAL  # support switched it meanwhile: the quarter no longer applies
    await db.flush()

    await run_at(runtime, clock, at(date(2026, 4, 8)) + timedelta(minutes=6))

    assert (await _reconciliation(db)).status is ReconciliationStatus.PAID
    [invoice] = await invoices_of(db, sub)
    assert (invoice.status, invoice.amount_paid) == (InvoiceStatus.PAID, 261_000)
    assert await ledger(db) == (1, [(261_000, "SUCCEEDED")])
    assert (await reload(db, sub)).seats == 110


async def test_a_reconciliation_charge_recorded_after_the_claim_was_lost(
    db: AsyncSession, runtime: Runtime, clock: FixedClock
) -> None:
    sub = await _overage(db)
    await run_at(runtime, clock, at(date(2026, 4, 1)))
    billing = runtime.providers.billing = Billing(runtime.providers.billing)

    async def stolen() -> None:
        await db.execute(sa.update(Reconciliation).values(claimed_by="worker-b"))

    billing.after = stolen
    await run_at(runtime, clock, at(date(2026, 4, 8)))

    assert (await _reconciliation(db)).status is ReconciliationStatus.PAID
    [invoice] = await invoices_of(db, sub)
    assert (invoice.status, invoice.amount_paid) == (InvoiceStatus.PAID, 261_000)
    assert await ledger(db) == (1, [(261_000, "SUCCEEDED")])
