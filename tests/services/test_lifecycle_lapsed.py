"""A lapsed renewal's invoice is voided at the billing provider too (through the outbox, no
transaction open during the call): when its subscription expires, even while the provider
is unreachable (the expiry is on time, the void follows on a later round), and when an
order renews the subscription during grace; one the provider collected meanwhile is
refunded. Inside the test's transaction, a FixedClock and the local billing provider."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from app.auth.principals import Principal, PrincipalKind
from app.clock import FixedClock
from app.config import Settings
from app.db.tables import (
    AuditEvent,
    BillingAccount,
    Customer,
    Invoice,
    LedgerInvoice,
    LedgerRefund,
    OutboxMessage,
    Payment,
    Renewal,
    Subscription,
)
from app.domain.enums import InvoiceStatus, MemberRole, OrderStatus, SyncStatus
from app.domain.lifecycle import RenewalStatus
from app.domain.pricing import Renew
from app.providers.billing import InvoiceRecord
from app.providers.errors import ProviderUnavailable
from app.runtime import Runtime
from app.services.inbound import invoices as inbound_invoices
from app.services.inbound.refresh import Outcome
from app.services.lifecycle.lapsed import TOPIC
from tests.services.lifecycle_support import at, invoices_of, reload, run_at, subscribed
from tests.services.recovery_support import Buyer, local_runtime, place, quote
from tests.support import factories as f

TERM_END = date(2027, 1, 1)
EXPIRY = date(2027, 1, 15)
RENEWAL = 348_000  # 10 Premium seats for a year


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(at(date(2026, 6, 1)))


@pytest.fixture
def runtime(
    settings: Settings, session_factory: async_sessionmaker[AsyncSession], clock: FixedClock
) -> Runtime:
    return local_runtime(settings, session_factory, clock)


class Voids:
    """The billing provider, counting the voids asked for (by key), unreachable for the
    first `failures` of them."""

    def __init__(self, inner: Any, failures: int = 0) -> None:
        self.inner, self.failures, self.keys = inner, failures, []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def void_invoice(self, invoice_ref: str, *, idempotency_key: str) -> InvoiceRecord:
        self.keys.append(idempotency_key)
        if self.failures > 0:
            self.failures -= 1
            raise ProviderUnavailable("local", "down")
        return await self.inner.void_invoice(invoice_ref, idempotency_key=idempotency_key)


async def _declined(db: AsyncSession, runtime: Runtime, clock: FixedClock) -> Subscription:
    """A subscription whose renewal was declined at its term end: in grace, invoice open."""
    sub = await subscribed(db, seats=10, payment_method="pm_card_declined")
    await run_at(runtime, clock, at(TERM_END))
    assert (await reload(db, sub)).status == "GRACE"
    return sub


async def _ledger_status(db: AsyncSession, ref: str | None) -> str:
    stmt = sa.select(col(LedgerInvoice.status)).where(col(LedgerInvoice.ref) == ref)
    return str((await db.execute(stmt)).scalar_one())


async def _messages(db: AsyncSession) -> list[tuple[str, str, int]]:
    stmt = (
        sa.select(OutboxMessage)
        .where(col(OutboxMessage.topic) == TOPIC)
        .execution_options(populate_existing=True)
    )
    return [(m.idempotency_key, m.status.value, m.attempts) for m in await db.scalars(stmt)]


async def _invoice_audit(db: AsyncSession, invoice: Invoice) -> Sequence[str]:
    stmt = sa.select(col(AuditEvent.action)).where(
        col(AuditEvent.target_type) == "Invoice", col(AuditEvent.target_id) == str(invoice.id)
    )
    return (await db.scalars(stmt)).all()


async def test_expiry_voids_the_lapsed_invoice_at_the_provider_after_an_outage(
    db: AsyncSession, runtime: Runtime, clock: FixedClock
) -> None:
    sub = await _declined(db, runtime, clock)
    billing = Voids(runtime.providers.billing, failures=1)
    runtime.providers.billing = billing

    await run_at(runtime, clock, at(EXPIRY))

    sub = await reload(db, sub)
    assert (sub.status, sub.term_end) == ("EXPIRED", TERM_END)  # on time, provider or not
    [invoice] = await invoices_of(db, sub)
    assert (await db.scalars(sa.select(Renewal.status))).one() == RenewalStatus.LAPSED
    assert invoice.status == InvoiceStatus.VOID
    assert await _ledger_status(db, invoice.provider_ref) == "OPEN"
    key = f"renewal:{sub.id}:{TERM_END.isoformat()}:void"
    assert await _messages(db) == [(key, "PENDING", 1)]

    await run_at(runtime, clock, at(EXPIRY, hour=7))  # a later round: the retry is due

    assert await _ledger_status(db, invoice.provider_ref) == "VOID"
    assert billing.keys == [key, key]
    assert await _messages(db) == [(key, "DONE", 1)]
    assert (await reload(db, sub)).status == "EXPIRED"
    assert await db.scalar(sa.select(sa.func.count()).select_from(LedgerRefund)) == 0
    assert await _invoice_audit(db, invoice) == []

    await run_at(runtime, clock, at(EXPIRY + timedelta(days=1)))
    assert billing.keys == [key, key]  # voided once


async def test_a_lapsed_invoice_the_provider_collected_meanwhile_is_refunded(
    db: AsyncSession, runtime: Runtime, clock: FixedClock
) -> None:
    sub = await _declined(db, runtime, clock)
    [invoice] = await invoices_of(db, sub)
    # The provider collected it on its own (a retry of its own, the customer's pay link).
    collected = await runtime.providers.billing.collect_payment(
        invoice.provider_ref or "", "pm_card_visa", idempotency_key="provider-retry"
    )

    await run_at(runtime, clock, at(EXPIRY))

    assert (await reload(db, sub)).status == "EXPIRED"
    [invoice] = await invoices_of(db, sub)
    assert (invoice.status, invoice.amount_paid) == (InvoiceStatus.REFUNDED, RENEWAL)
    [refund] = (await db.scalars(sa.select(LedgerRefund))).all()
    assert (refund.payment_ref, refund.amount) == (collected.ref, RENEWAL)
    stmt = sa.select(col(Payment.provider_ref), col(Payment.status), col(Payment.amount)).where(
        col(Payment.invoice_id) == invoice.id, col(Payment.status) == "SUCCEEDED"
    )
    assert [tuple(row) for row in (await db.execute(stmt)).all()] == [
        (collected.ref, "SUCCEEDED", RENEWAL)
    ]
    assert await _invoice_audit(db, invoice) == ["invoice.refunded"]
    key = f"renewal:{sub.id}:{TERM_END.isoformat()}:void"
    assert await _messages(db) == [(key, "DONE", 0)]


async def test_a_lapsed_invoice_a_webhook_already_recorded_paid_is_refunded(
    db: AsyncSession, runtime: Runtime, clock: FixedClock
) -> None:
    """The customer paid the renewal's pay link in grace and the provider's invoice.paid was
    processed (the local copy PAID) while the renewal stayed declined: when it lapses, the
    term was never served, so the payment is refunded all the same."""
    sub = await _declined(db, runtime, clock)
    [invoice] = await invoices_of(db, sub)
    collected = await runtime.providers.billing.collect_payment(
        invoice.provider_ref or "", "pm_card_visa", idempotency_key="pay-link"
    )
    apply = await inbound_invoices.refresh(runtime, invoice.provider_ref or "")
    assert await apply(db, clock.now()) is Outcome.REFRESHED
    await db.refresh(invoice)
    assert invoice.status == InvoiceStatus.PAID

    await run_at(runtime, clock, at(EXPIRY))

    assert (await reload(db, sub)).status == "EXPIRED"
    await db.refresh(invoice)
    assert (invoice.status, invoice.amount_paid) == (InvoiceStatus.REFUNDED, RENEWAL)
    [refund] = (await db.scalars(sa.select(LedgerRefund))).all()
    assert (refund.payment_ref, refund.amount) == (collected.ref, RENEWAL)
    assert (await db.scalars(sa.select(Renewal.status))).one() == RenewalStatus.LAPSED
    assert await _invoice_audit(db, invoice) == ["invoice.refunded"]
    key = f"renewal:{sub.id}:{TERM_END.isoformat()}:void"
    assert await _messages(db) == [(key, "DONE", 0)]


async def test_a_renewal_paid_by_its_link_in_grace_renews_at_the_next_round(
    db: AsyncSession, runtime: Runtime, clock: FixedClock
) -> None:
    """The provider's invoice.paid for a declined renewal's invoice brings its next attempt
    to today: the grace job's next round renews from that payment, charging nothing more."""
    sub = await _declined(db, runtime, clock)
    [invoice] = await invoices_of(db, sub)
    collected = await runtime.providers.billing.collect_payment(
        invoice.provider_ref or "", "pm_card_visa", idempotency_key="pay-link"
    )
    clock.set(at(date(2027, 1, 2)))
    apply = await inbound_invoices.refresh(runtime, invoice.provider_ref or "")
    assert await apply(db, clock.now()) is Outcome.REFRESHED
    renewal = (await db.scalars(sa.select(Renewal))).one()
    assert (renewal.status, renewal.next_attempt_on) == (RenewalStatus.DECLINED, date(2027, 1, 2))

    await run_at(runtime, clock, at(date(2027, 1, 2), hour=7))

    sub = await reload(db, sub)
    assert (sub.status, sub.term_start, sub.term_end) == ("ACTIVE", TERM_END, date(2028, 1, 1))
    await db.refresh(invoice)
    assert (invoice.status, invoice.amount_paid) == (InvoiceStatus.PAID, RENEWAL)
    stmt = sa.select(col(Payment.provider_ref)).where(
        col(Payment.invoice_id) == invoice.id, col(Payment.status) == "SUCCEEDED"
    )
    assert (await db.scalars(stmt)).all() == [collected.ref]
    assert await db.scalar(sa.select(sa.func.count()).select_from(LedgerRefund)) == 0


async def test_a_manual_renewal_in_grace_voids_the_lapsed_invoice_at_the_provider(
    db: AsyncSession, runtime: Runtime, clock: FixedClock
) -> None:
    sub = await _declined(db, runtime, clock)
    [lapsing] = await invoices_of(db, sub)
    account = await db.get(BillingAccount, sub.billing_account_id)
    assert account is not None
    account.payment_method = "pm_card_visa"
    owner = await f.user(db, member_of=await db.get(Customer, sub.customer_id))
    who = Buyer(
        Principal(
            kind=PrincipalKind.CUSTOMER_USER,
            id=owner.external_id,
            name=owner.name,
            user_id=owner.id,
            roles={sub.customer_id: MemberRole.OWNER},
        ),
        sub,
    )
    billing = Voids(runtime.providers.billing)
    runtime.providers.billing = billing
    clock.set(at(date(2027, 1, 5)))

    placed = await place(runtime, who, await quote(runtime, who, Renew()), "renew")
    assert placed.order.status is OrderStatus.COMPLETED
    assert (await db.scalars(sa.select(Renewal.status))).one() == RenewalStatus.LAPSED
    await db.refresh(lapsing)
    assert lapsing.status == InvoiceStatus.VOID
    assert await _ledger_status(db, lapsing.provider_ref) == "OPEN"  # the outbox is next

    await run_at(runtime, clock, at(date(2027, 1, 5), hour=7))

    sub = await reload(db, sub)
    assert (sub.status, sub.term_start, sub.term_end) == ("ACTIVE", TERM_END, date(2028, 1, 1))
    assert await _ledger_status(db, lapsing.provider_ref) == "VOID"
    key = f"renewal:{sub.id}:{TERM_END.isoformat()}:void"
    assert billing.keys == [key]
    assert await _messages(db) == [(key, "DONE", 0)]
    paid = [i for i in await invoices_of(db, sub) if i.id != lapsing.id]
    assert [(i.status, i.amount_paid) for i in paid] == [(InvoiceStatus.PAID, paid[0].total)]
    assert await _ledger_status(db, paid[0].provider_ref) == "PAID"


async def test_a_lapsed_invoice_paid_without_a_payment_is_left_for_review(
    db: AsyncSession, runtime: Runtime, clock: FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    sub = await _declined(db, runtime, clock)
    [invoice] = await invoices_of(db, sub)
    await db.execute(  # marked paid by hand at the provider: no payment to refund
        sa.update(LedgerInvoice)
        .where(col(LedgerInvoice.ref) == invoice.provider_ref)
        .values(status="PAID", balance=0)
    )

    with caplog.at_level(logging.ERROR, logger="app.lifecycle.lapsed"):
        await run_at(runtime, clock, at(EXPIRY))
        await run_at(runtime, clock, at(EXPIRY, hour=7))

    assert (await reload(db, sub)).status == "EXPIRED"
    [invoice] = await invoices_of(db, sub)
    assert (invoice.status, invoice.amount_paid, invoice.sync_status) == (
        InvoiceStatus.PAID,
        RENEWAL,
        SyncStatus.DRIFTED,
    )
    assert await db.scalar(sa.select(sa.func.count()).select_from(LedgerRefund)) == 0
    assert await _invoice_audit(db, invoice) == ["invoice.needs_review"]
    key = f"renewal:{sub.id}:{TERM_END.isoformat()}:void"
    assert await _messages(db) == [(key, "DONE", 0)]
    [line] = [r for r in caplog.records if r.name == "app.lifecycle.lapsed"]
    assert "no payment to refund" in line.getMessage()
