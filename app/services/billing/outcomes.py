"""The provider's answers, recorded locally: its invoice's ref, the payment row, the invoice
PAID, VOID or REFUNDED. Orders, lifecycle charges, order settlement and webhook refreshes
record them alike, each in the transaction that records the rest of its outcome (the
provider's ref of an order's invoice is stored at once, in a transaction of its own).

Every payment row is inserted by `record_payment_once`, once per provider payment (the
unique index on payment.provider_ref, migration 0013): a webhook refresh may record the
payment between a lifecycle charge and the recording of its outcome, and whichever comes
second finds it there (or, racing, waits and inserts nothing) instead of failing. A payment
row recorded for a subscription's invoice emits `payment.succeeded` or `payment.failed`
(app/services/integration_events.py) in the same transaction, once per provider payment."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db.repositories import invoices as invoice_repo
from app.db.tables import Invoice, Payment, Subscription
from app.db.unit_of_work import unit_of_work
from app.domain.enums import InvoiceStatus, PaymentStatus, SyncStatus
from app.providers.billing import PaymentRecord
from app.services import integration_events
from app.services.billing.charging import Charged, succeeded


def payment_row(invoice: Invoice, payment: PaymentRecord) -> Payment:
    """The local copy of a payment the provider answered."""
    return Payment(
        invoice_id=invoice.id or 0,
        amount=payment.amount,
        currency=payment.currency,
        status=PaymentStatus.SUCCEEDED if succeeded(payment) else PaymentStatus.FAILED,
        failure_code=payment.failure_code,
        provider_ref=payment.ref,
    )


async def record_payment_once(
    session: AsyncSession, invoice: Invoice, payment: PaymentRecord, *, now: datetime
) -> bool:
    """The payment row, unless one for the same provider payment is already there (an
    outcome recorded again by a resumed run, or by a webhook refresh): True when new. A new
    row of a subscription's invoice is told to integration subscribers."""
    row = payment_row(invoice, payment)
    row.id = await invoice_repo.insert_payment_once(session, row)
    if row.id is None:
        return False
    sid = invoice.subscription_id
    subscription = await session.get(Subscription, sid) if sid is not None else None
    if subscription is not None:
        kind, body = integration_events.payment(row, invoice)
        await integration_events.emit(session, kind, subscription, body, now=now)
    return True


async def paid(
    session: AsyncSession, invoice: Invoice, payment: PaymentRecord | None, *, now: datetime
) -> None:
    """The invoice PAID in full, with its payment (None: a zero total, nothing collected)."""
    invoice.status, invoice.amount_paid = InvoiceStatus.PAID, invoice.total
    if payment is not None:
        await record_payment_once(session, invoice, payment, now=now)


async def record_charge(
    session: AsyncSession, invoice: Invoice, charged: Charged, *, now: datetime
) -> None:
    """The provider's invoice ref, the payment row, and the invoice PAID when the charge
    succeeded."""
    invoice.provider_ref = invoice.provider_ref or charged.invoice_ref
    if charged.paid:
        await paid(session, invoice, charged.payment, now=now)
    elif charged.payment is not None:
        await record_payment_once(session, invoice, charged.payment, now=now)
    invoice.sync_status = SyncStatus.PENDING  # the copy changed: the next billing sync checks


async def store_invoice_ref(
    sessions: async_sessionmaker[AsyncSession], invoice_id: int | None, ref: str
) -> None:
    """The provider's invoice, kept as soon as it is issued (a failed order's settlement
    voids it by this ref)."""
    async with unit_of_work(sessions) as session:
        row = await session.get(Invoice, invoice_id)
        assert row is not None
        row.provider_ref = ref


def paid_without_payment(invoice: Invoice) -> None:
    """PAID as the provider has it, though it holds no payment to refund: marked DRIFTED for
    review (app/services/billing/reversal.py); nothing is given back automatically."""
    invoice.status, invoice.amount_paid = InvoiceStatus.PAID, invoice.total
    invoice.sync_status = SyncStatus.DRIFTED


def voided(invoice: Invoice) -> None:
    invoice.status = InvoiceStatus.VOID


def refunded(invoice: Invoice, payment: PaymentRecord) -> None:
    """Paid (the payment the provider had collected), then refunded in full."""
    invoice.status, invoice.amount_paid = InvoiceStatus.REFUNDED, payment.amount
