"""Renewals through the worker's jobs (inside the test's transaction, a FixedClock, the local
billing provider): the renewed term, its invoice and charge, grace with retries, expiry to
Free, auto-renew off, trials ending, and exactly-once under reruns, outages and leases."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from app.clock import FixedClock
from app.config import Settings
from app.db.tables import (
    BillingAccount,
    ConsumablePurchase,
    LedgerInvoice,
    LedgerPayment,
    Order,
    OrderLease,
    Payment,
    Renewal,
    Subscription,
)
from app.db.unit_of_work import unit_of_work
from app.domain.enums import (
    ConsumableKind,
    InvoiceStatus,
    OrderStatus,
    ReconciliationMode,
    SubscriptionStatus,
)
from app.domain.lifecycle import RenewalStatus
from app.providers.billing import PaymentRecord
from app.providers.errors import ProviderUnavailable
from app.providers.registry import build_providers
from app.runtime import Runtime, build_runtime
from app.services import outbox
from app.services.inbound import invoices as inbound_invoices
from app.services.inbound.refresh import Outcome
from tests.services.lifecycle_support import (
    at,
    audit_actions,
    entitlement,
    invoices_of,
    ledger,
    lines_of,
    notices,
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


async def storage(db: AsyncSession, sub: Subscription, packs: int, expires: date) -> None:
    products = await f.catalog(db)
    await f.add(
        db,
        ConsumablePurchase(
            subscription_id=sub.id,
            product_id=products["storage_10gib"].id,
            kind=ConsumableKind.STORAGE,
            packs=packs,
            units=packs * 10,
            amount=0,
            currency="USD",
            purchased_on=date(2026, 10, 1),
            expires_on=expires,
        ),
    )


async def test_renewal_prices_the_new_term_charges_once_and_provisions_it(
    db: AsyncSession, runtime: Runtime, clock: FixedClock
) -> None:
    plans = await f.catalog(db)
    sub = await subscribed(
        db,
        "ultimate",
        seats=10,
        mode=ANNUAL,
        seats_in_use=12,
        max_seats_used=14,
        pending_plan_id=plans["premium"].id,
    )
    await f.add_on(db, sub, "duo_pro", 5)
    await storage(db, sub, 2, TERM_END)
    await storage(db, sub, 1, date(2026, 12, 1))  # not co-termed: not renewed

    await run_at(runtime, clock, at(date(2026, 12, 31)))
    assert (await reload(db, sub)).term_end == TERM_END
    handled = await run_at(runtime, clock, at(TERM_END))

    assert handled["renewals"] == 1
    sub = await reload(db, sub)
    assert (sub.status, sub.plan_id, sub.pending_plan_id) == ("ACTIVE", plans["premium"].id, None)
    assert (sub.seats, sub.max_seats_used, sub.seats_in_use) == (12, 12, 12)
    assert (sub.term_start, sub.term_end) == (TERM_END, date(2028, 1, 1))
    [invoice] = await invoices_of(db, sub)
    # max(10 seats, 12 billable) of Premium (the downgrade applies), the add-on and the
    # co-termed storage carried over, and the true-up: 14 used - 10 paid at Ultimate's price.
    total = 12 * 34_800 + 5 * 22_800 + 2 * 6_000 + 4 * 118_800
    assert (invoice.status, invoice.total, invoice.amount_paid) == ("PAID", total, total)
    assert total == 1_018_800
    assert [line[1:] for line in await lines_of(db, invoice)] == [
        (12, 34_800, 417_600),
        (5, 22_800, 114_000),
        (2, 6_000, 12_000),
        (4, 118_800, 475_200),
    ]
    assert (await lines_of(db, invoice))[3][0].startswith("True-up: 4 seats")
    assert await ledger(db) == (1, [(1_018_800, "SUCCEEDED")])
    packs = (
        await db.scalars(
            sa.select(ConsumablePurchase).where(
                col(ConsumablePurchase.subscription_id) == sub.id,
                col(ConsumablePurchase.expires_on) == date(2028, 1, 1),
            )
        )
    ).all()
    assert [(p.packs, p.units, p.amount, p.purchased_on) for p in packs] == [
        (2, 20, 12_000, TERM_END)
    ]
    pushed = await entitlement(db, sub)
    assert pushed is not None
    assert (pushed["plan_code"], pushed["seats"], pushed["storage_gib"]) == ("premium", 12, 20)
    assert pushed["term_end"] == "2028-01-01" and pushed["add_ons"] == [["duo_pro", 5]]
    assert (sub.provisioning_status, sub.sync_status) == ("PROVISIONED", "SYNCED")
    assert ("SUBSCRIPTION_RENEWED", TERM_END) in await notices(db, sub)
    assert (await audit_actions(db, sub))["subscription.renewed"] == 1

    # Again, and a day later: nothing more is billed, renewed or written to the ledger.
    assert (await run_at(runtime, clock, at(TERM_END, 18)))["renewals"] == 0
    await run_at(runtime, clock, at(date(2027, 1, 2)))
    assert await ledger(db) == (1, [(1_018_800, "SUCCEEDED")])
    assert (await reload(db, sub)).term_end == date(2028, 1, 1)


async def test_renewal_reminder_fifteen_days_before_once(
    db: AsyncSession, runtime: Runtime, clock: FixedClock
) -> None:
    sub = await subscribed(db, seats=10, mode=ANNUAL)
    off = await subscribed(db, seats=10, mode=ANNUAL, auto_renew=False)

    await run_at(runtime, clock, at(date(2026, 12, 16)))
    assert await notices(db, sub) == []
    await run_at(runtime, clock, at(date(2026, 12, 17)))
    await run_at(runtime, clock, at(date(2026, 12, 18)))

    assert await notices(db, sub) == [("RENEWAL_REMINDER", date(2026, 12, 17))]
    assert await notices(db, off) == [("RENEWAL_REMINDER", date(2026, 12, 17))]


async def test_declined_renewal_grace_retries_then_expiry_to_free(
    db: AsyncSession, runtime: Runtime, clock: FixedClock
) -> None:
    sub = await subscribed(db, seats=10, mode=ANNUAL, payment_method="pm_card_declined")
    await storage(db, sub, 1, TERM_END)
    declined = (34_800 * 10 + 6_000, "FAILED")

    await run_at(runtime, clock, at(TERM_END))

    sub = await reload(db, sub)
    assert (sub.status, sub.term_end, sub.seats) == ("GRACE", TERM_END, 10)
    renewal = (await db.scalars(sa.select(Renewal))).one()
    assert (renewal.status, renewal.attempts, renewal.failure_code) == (
        "DECLINED",
        1,
        "card_declined",
    )
    assert renewal.next_attempt_on == date(2027, 1, 4)
    [invoice] = await invoices_of(db, sub)
    assert invoice.status == "OPEN"
    assert await ledger(db) == (1, [declined])
    assert await notices(db, sub) == [
        ("PAYMENT_FAILED", TERM_END),
        ("GRACE_STARTED", TERM_END),
    ]

    for day, payments in ((3, 1), (4, 2), (7, 2), (8, 3), (12, 4), (14, 4)):
        await run_at(runtime, clock, at(date(2027, 1, day)))
        assert (await ledger(db))[1] == [declined] * payments, day
        assert (await reload(db, sub)).status == "GRACE"

    await run_at(runtime, clock, at(date(2027, 1, 15)))

    sub = await reload(db, sub)
    assert (sub.status, sub.auto_renew, sub.term_end) == ("EXPIRED", False, TERM_END)
    [invoice] = await invoices_of(db, sub)
    assert invoice.status == InvoiceStatus.VOID
    assert (await db.scalars(sa.select(Renewal.status))).one() == RenewalStatus.LAPSED
    assert await ledger(db) == (1, [declined] * 4)
    pushed = await entitlement(db, sub)
    assert pushed is not None
    assert (pushed["plan_code"], pushed["seats"], pushed["storage_gib"]) == ("free", 0, 0)
    assert [kind for kind, _ in await notices(db, sub)] == [
        "PAYMENT_FAILED",
        "GRACE_STARTED",
        "PAYMENT_FAILED",
        "PAYMENT_FAILED",
        "PAYMENT_FAILED",
        "SUBSCRIPTION_EXPIRED",
    ]
    assert await audit_actions(db, sub) == {
        "subscription.renewal_declined": 4,
        "subscription.grace_started": 1,
        "subscription.expired": 1,
    }


async def test_a_month_at_once_ends_the_same_as_day_by_day(
    db: AsyncSession, runtime: Runtime, clock: FixedClock
) -> None:
    sub = await subscribed(db, seats=10, mode=ANNUAL, payment_method="pm_card_declined")

    await run_at(runtime, clock, at(date(2027, 2, 1)))

    sub = await reload(db, sub)
    assert (sub.status, sub.term_end) == ("EXPIRED", TERM_END)
    assert await ledger(db) == (1, [(348_000, "FAILED")])


async def test_a_successful_retry_in_grace_renews(
    db: AsyncSession, runtime: Runtime, clock: FixedClock
) -> None:
    sub = await subscribed(db, seats=10, mode=ANNUAL, payment_method="pm_card_declined")
    await run_at(runtime, clock, at(TERM_END))
    account = await db.get(BillingAccount, sub.billing_account_id)
    assert account is not None
    account.payment_method = "pm_card_visa"  # the customer fixed the card
    await db.flush()

    await run_at(runtime, clock, at(date(2027, 1, 4)))

    sub = await reload(db, sub)
    assert (sub.status, sub.term_start, sub.term_end) == ("ACTIVE", TERM_END, date(2028, 1, 1))
    [invoice] = await invoices_of(db, sub)
    assert (invoice.status, invoice.amount_paid) == ("PAID", 348_000)
    payments = (
        await db.execute(
            sa.select(col(Payment.status), col(Payment.failure_code)).order_by(col(Payment.id))
        )
    ).all()
    assert [tuple(p) for p in payments] == [("FAILED", "card_declined"), ("SUCCEEDED", None)]
    assert await ledger(db) == (1, [(348_000, "FAILED"), (348_000, "SUCCEEDED")])
    assert (await notices(db, sub))[-1] == ("SUBSCRIPTION_RENEWED", date(2027, 1, 4))

    await run_at(runtime, clock, at(date(2027, 1, 20)))
    assert (await reload(db, sub)).status == "ACTIVE"


class WebhookFirst:
    """The billing provider, whose `invoice.paid` webhook is refreshed (the payment row
    recorded) between a successful charge and the renewal recording its outcome."""

    def __init__(self, runtime: Runtime) -> None:
        self.inner, self.runtime = runtime.providers.billing, runtime

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def collect_payment(self, invoice_ref: str, *args: Any, **kwargs: Any) -> Any:
        record = await self.inner.collect_payment(invoice_ref, *args, **kwargs)
        if record.status == "SUCCEEDED":
            apply = await inbound_invoices.refresh(self.runtime, invoice_ref)
            async with unit_of_work(self.runtime.sessions) as session:
                assert await apply(session, self.runtime.clock.now()) == Outcome.REFRESHED
        return record


async def test_a_payment_a_webhook_recorded_first_is_not_recorded_twice(
    db: AsyncSession, runtime: Runtime, clock: FixedClock
) -> None:
    sub = await subscribed(db, seats=10, mode=ANNUAL, payment_method="pm_card_declined")
    await run_at(runtime, clock, at(TERM_END))
    account = await db.get(BillingAccount, sub.billing_account_id)
    assert account is not None
    account.payment_method = "pm_card_visa"
    await db.flush()
    runtime.providers.billing = WebhookFirst(runtime)  # type: ignore[assignment]

    await run_at(runtime, clock, at(date(2027, 1, 4)))

    sub = await reload(db, sub)
    assert (sub.status, sub.term_end) == ("ACTIVE", date(2028, 1, 1))
    [invoice] = await invoices_of(db, sub)
    assert (invoice.status, invoice.amount_paid) == ("PAID", 348_000)
    payments = (
        await db.execute(
            sa.select(col(Payment.provider_ref), col(Payment.status), col(Payment.amount))
            .where(col(Payment.invoice_id) == invoice.id)
            .order_by(col(Payment.id))
        )
    ).all()
    declined, paid = (
        await db.scalars(sa.select(LedgerPayment.ref).order_by(LedgerPayment.id))
    ).all()
    assert [tuple(p) for p in payments] == [
        (declined, "FAILED", 348_000),
        (paid, "SUCCEEDED", 348_000),
    ]
    assert (await db.scalars(sa.select(Renewal.status))).one() == RenewalStatus.PAID


async def test_auto_renew_off_goes_to_grace_then_expires_without_a_charge(
    db: AsyncSession, runtime: Runtime, clock: FixedClock
) -> None:
    sub = await subscribed(db, seats=10, mode=ANNUAL, auto_renew=False)

    await run_at(runtime, clock, at(TERM_END))
    assert (await reload(db, sub)).status == "GRACE"
    await run_at(runtime, clock, at(date(2027, 1, 14)))
    assert (await reload(db, sub)).status == "GRACE"
    await run_at(runtime, clock, at(date(2027, 1, 15)))

    assert (await reload(db, sub)).status == "EXPIRED"
    assert await ledger(db) == (0, [])
    assert await invoices_of(db, sub) == []
    assert await notices(db, sub) == [
        ("GRACE_STARTED", TERM_END),
        ("SUBSCRIPTION_EXPIRED", date(2027, 1, 15)),
    ]
    assert await audit_actions(db, sub) == {
        "subscription.grace_started": 1,
        "subscription.expired": 1,
    }


async def test_trial_ends_without_grace(
    db: AsyncSession, runtime: Runtime, clock: FixedClock
) -> None:
    trial = await subscribed(
        db,
        "ultimate",
        seats=0,
        status=SubscriptionStatus.TRIAL,
        auto_renew=False,
        term_start=date(2026, 6, 1),
        term_end=date(2026, 7, 1),
    )

    await run_at(runtime, clock, at(date(2026, 6, 27)))
    assert await notices(db, trial) == []
    await run_at(runtime, clock, at(date(2026, 6, 28)))
    assert await notices(db, trial) == [("TRIAL_ENDING", date(2026, 6, 28))]
    await run_at(runtime, clock, at(date(2026, 6, 30)))
    assert (await reload(db, trial)).status == "TRIAL"
    await run_at(runtime, clock, at(date(2026, 7, 1)))

    trial = await reload(db, trial)
    assert trial.status == "EXPIRED"
    assert await notices(db, trial) == [
        ("TRIAL_ENDING", date(2026, 6, 28)),
        ("TRIAL_ENDED", date(2026, 7, 1)),
    ]
    pushed = await entitlement(db, trial)
    assert pushed is not None and (pushed["plan_code"], pushed["seats"]) == ("free", 0)
    assert trial.sync_status == "PENDING"  # a trial is never synced to billing
    assert await ledger(db) == (0, [])
    assert await audit_actions(db, trial) == {"trial.ended": 1}


async def test_a_manual_renewal_is_not_renewed_again(
    db: AsyncSession, runtime: Runtime, clock: FixedClock
) -> None:
    # What a `renew` order leaves (app/services/orders/applying.py): the next term.
    sub = await subscribed(
        db, seats=10, mode=ANNUAL, term_start=TERM_END, term_end=date(2028, 1, 1)
    )

    await run_at(runtime, clock, at(date(2027, 1, 10)))

    assert (await reload(db, sub)).term_end == date(2028, 1, 1)
    assert await ledger(db) == (0, [])
    assert (await db.scalars(sa.select(Renewal))).all() == []


async def test_an_order_holding_the_lease_defers_the_renewal(
    db: AsyncSession, runtime: Runtime, clock: FixedClock
) -> None:
    sub = await subscribed(db, seats=10, mode=ANNUAL)
    order = await f.add(db, _order(sub))
    await f.add(
        db,
        OrderLease(
            resource=f"subscription:{sub.id}", order_id=order.id, expires_at=at(TERM_END, 7)
        ),
    )

    assert (await run_at(runtime, clock, at(TERM_END)))["renewals"] == 0
    assert (await reload(db, sub)).term_end == TERM_END
    lease = await db.get(OrderLease, f"subscription:{sub.id}")
    assert lease is not None and lease.order_id == order.id

    await run_at(runtime, clock, at(TERM_END, 8))  # the order's lease ran out

    assert (await reload(db, sub)).term_end == date(2028, 1, 1)
    assert await ledger(db) == (1, [(348_000, "SUCCEEDED")])
    assert await db.get(OrderLease, f"subscription:{sub.id}", populate_existing=True) is None


class FlakyCollect:
    """The billing provider, unreachable for the first `failures` charges."""

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


async def test_a_renewal_resumed_after_an_outage_charges_once(
    db: AsyncSession, runtime: Runtime, clock: FixedClock
) -> None:
    sub = await subscribed(db, seats=10, mode=ANNUAL)
    runtime.providers.billing = FlakyCollect(runtime.providers.billing, failures=1)

    await run_at(runtime, clock, at(TERM_END))

    renewal = (await db.scalars(sa.select(Renewal))).one()
    assert (renewal.status, renewal.claimed_by) == ("PENDING", "worker-a")
    assert (await reload(db, sub)).status == "ACTIVE"
    assert await ledger(db) == (1, [])
    # Another run while the claim holds does nothing; once it ran out, the renewal resumes
    # with the same keys: the invoice is not issued twice.
    assert (await run_at(runtime, clock, at(TERM_END) + timedelta(minutes=1)))["renewals"] == 0
    await run_at(runtime, clock, at(TERM_END) + timedelta(minutes=6))

    assert (await reload(db, sub)).term_end == date(2028, 1, 1)
    assert await ledger(db) == (1, [(348_000, "SUCCEEDED")])
    assert len(await invoices_of(db, sub)) == 1


class LosingIssue:
    """The billing provider, whose first invoice is issued but its answer lost."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.lost, self.requests = inner, False, []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def create_invoice(self, invoice: Any, *, idempotency_key: str) -> Any:
        self.requests.append((invoice.due_on, idempotency_key))
        record = await self.inner.create_invoice(invoice, idempotency_key=idempotency_key)
        if not self.lost:
            self.lost = True
            raise ProviderUnavailable("local", "timed out")
        return record


async def test_a_renewal_whose_invoice_answer_was_lost_resumes_on_a_later_day(
    db: AsyncSession, runtime: Runtime, clock: FixedClock
) -> None:
    """The retry, days later, sends the first request (due on the invoice's own date) under
    the same key: the provider replays the invoice it issued, and the charge goes through."""
    sub = await subscribed(db, seats=10, mode=ANNUAL)
    billing = LosingIssue(runtime.providers.billing)
    runtime.providers.billing = billing

    await run_at(runtime, clock, at(TERM_END))
    assert (await db.scalars(sa.select(Renewal.status))).one() == RenewalStatus.PENDING
    await run_at(runtime, clock, at(TERM_END + timedelta(days=3)))

    key = f"renewal:{sub.id}:{TERM_END.isoformat()}:invoice"
    assert billing.requests == [(TERM_END, key), (TERM_END, key)]
    sub = await reload(db, sub)
    assert (sub.status, sub.term_end) == ("ACTIVE", date(2028, 1, 1))
    assert await ledger(db) == (1, [(348_000, "SUCCEEDED")])
    [invoice] = await invoices_of(db, sub)
    assert (invoice.status, invoice.amount_paid, invoice.due_on) == ("PAID", 348_000, TERM_END)
    ledger_invoice = (await db.scalars(sa.select(LedgerInvoice))).one()
    assert (ledger_invoice.ref, ledger_invoice.due_on) == (invoice.provider_ref, TERM_END)


def _order(sub: Subscription) -> Order:
    return Order(
        customer_id=sub.customer_id,
        subscription_id=sub.id,
        status=OrderStatus.PENDING,
        idempotency_key="manual-renewal",
        quote_digest="d" * 64,
        currency="USD",
        subtotal=0,
        total=0,
        placed_by="customer_user:1",
    )


async def test_the_billing_provider_subscription_renews_with_it(
    db: AsyncSession, runtime: Runtime, clock: FixedClock
) -> None:
    sub = await subscribed(db, seats=10, mode=ANNUAL, seats_in_use=11)
    await outbox.enqueue(
        db, outbox.BILLING_SYNC, {"subscription_id": sub.id}, "created", now=clock.now()
    )
    await db.flush()
    await run_at(runtime, clock, at(date(2026, 6, 1)))
    ref = (await reload(db, sub)).provider_ref
    assert ref is not None

    await run_at(runtime, clock, at(TERM_END))

    remote = (await runtime.providers.billing.get_subscriptions([ref]))[ref]
    assert (remote.term_start, remote.term_end) == (TERM_END, date(2028, 1, 1))
    assert [(i.product_code, i.quantity, i.unit_amount) for i in remote.items] == [
        ("premium", 11, 34_800)
    ]
    assert (await reload(db, sub)).sync_status == "SYNCED"


async def test_a_renewal_beyond_2_31_cents_is_invoiced_and_charged(
    db: AsyncSession, runtime: Runtime, clock: FixedClock
) -> None:
    # 30,000 Ultimate seats x 118,800 = 3,564,000,000 and 25,000 Duo Enterprise seats x 46,800
    # = 1,170,000,000: 4,734,000,000 cents, past the 32-bit columns PostgreSQL had.
    sub = await subscribed(db, "ultimate", seats=30_000)
    await f.add_on(db, sub, "duo_enterprise", 25_000)

    handled = await run_at(runtime, clock, at(TERM_END))

    assert handled["renewals"] == 1
    sub = await reload(db, sub)
    assert (sub.status, sub.term_start, sub.seats) == ("ACTIVE", TERM_END, 30_000)
    [invoice] = await invoices_of(db, sub)
    assert (invoice.status, invoice.total, invoice.amount_paid) == (
        InvoiceStatus.PAID,
        4_734_000_000,
        4_734_000_000,
    )
    assert [line[1:] for line in await lines_of(db, invoice)] == [
        (30_000, 118_800, 3_564_000_000),
        (25_000, 46_800, 1_170_000_000),
    ]
    assert await ledger(db) == (1, [(4_734_000_000, "SUCCEEDED")])
