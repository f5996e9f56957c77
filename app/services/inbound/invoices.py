"""`INVOICE` events (paid, payment failed, voided): the local invoice copy takes the
provider's current status and amount paid, each payment the provider has for it is recorded
once (by its ref), and a failed payment that is new to us, on an invoice still open, tells
the customer. The copy's sync status is the invoice sync's verdict against the provider.

A refresh never moves a settled copy (PAID, VOID, REFUNDED) back to OPEN, nor lowers its
amount paid: the provider only moves forward, so such an answer is an older read that lost a
race with a newer one. An invoice whose order is still executing is left to the order,
which records its own charge (its payment row, PAID) when it completes. A declined
renewal's invoice that the provider says is PAID (its pay link, in grace) has the renewal's
next attempt brought to today, so the grace job renews the subscription from that payment."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.db.repositories import payments as payments_repo
from app.db.repositories import webhooks as repo
from app.db.tables import Invoice, Order
from app.domain.enums import InvoiceStatus, NotificationKind, OrderStatus
from app.domain.lifecycle import RenewalStatus
from app.domain.money import Money
from app.providers.billing import InvoiceRecord, PaymentRecord
from app.providers.billing.records import PaymentStatus
from app.runtime import Runtime
from app.services import notifications
from app.services.billing import invoice_sync
from app.services.billing.outcomes import record_payment_once
from app.services.inbound.refresh import Apply, Outcome

SETTLED = frozenset({InvoiceStatus.PAID, InvoiceStatus.VOID, InvoiceStatus.REFUNDED})
PROVIDER_STATUSES = {status.value: status for status in InvoiceStatus}


async def refresh(runtime: Runtime, ref: str) -> Apply:
    billing = runtime.providers.billing
    remote = (await billing.get_invoices([ref])).get(ref)
    payments = (await billing.get_invoice_payments([ref])).get(ref, ()) if remote else ()

    async def apply(session: AsyncSession, now: datetime) -> Outcome:
        invoice = await repo.synced_by_ref(session, Invoice, ref)
        if remote is None or invoice is None:
            return Outcome.UNKNOWN_OBJECT
        if await _order_in_flight(session, invoice):
            return Outcome.LEFT_TO_LOCAL_CHANGE
        paid_now = invoice.status is not InvoiceStatus.PAID
        _copy(invoice, remote)
        if paid_now and invoice.status is InvoiceStatus.PAID:
            await _renew_soon(session, invoice, now)
        for payment in payments:
            if not await record_payment_once(session, invoice, payment, now=now):
                continue  # recorded already (by the charge that made it, or a refresh)
            if payment.status == PaymentStatus.FAILED and invoice.status is InvoiceStatus.OPEN:
                await _notify_failed(session, invoice, payment, now)
        invoice.sync_status = invoice_sync.verdict(invoice, remote)
        return Outcome.REFRESHED

    return apply


def _copy(invoice: Invoice, remote: InvoiceRecord) -> None:
    status = PROVIDER_STATUSES.get(remote.status)
    stale = status is InvoiceStatus.OPEN and invoice.status in SETTLED
    refunded = status is InvoiceStatus.PAID and invoice.status is InvoiceStatus.REFUNDED
    if status is not None and not stale and not refunded:
        invoice.status = status
    invoice.amount_paid = max(invoice.amount_paid, remote.total - remote.balance)


async def _renew_soon(session: AsyncSession, invoice: Invoice, now: datetime) -> None:
    """A declined renewal's invoice paid at the provider (its pay link): its next attempt is
    today, so the grace job's next round renews from that payment (the billing room's charge
    finds it collected and charges nothing more)."""
    renewal = await payments_repo.renewal_of_invoice(session, invoice.id or 0)
    if renewal is not None and renewal.status is RenewalStatus.DECLINED:
        renewal.next_attempt_on = now.date()


async def _order_in_flight(session: AsyncSession, invoice: Invoice) -> bool:
    if invoice.order_id is None:
        return False
    order = await session.get(Order, invoice.order_id)
    return order is not None and order.status is OrderStatus.PENDING


async def _notify_failed(
    session: AsyncSession, invoice: Invoice, payment: PaymentRecord, now: datetime
) -> None:
    amount = Money(payment.amount, payment.currency).formatted
    await notifications.notify(
        session,
        customer_id=invoice.customer_id,
        kind=NotificationKind.PAYMENT_FAILED,
        title=f"Payment for invoice {invoice.number} failed",
        body=f"A payment of {amount} for invoice {invoice.number} was declined "
        f"({payment.failure_code or 'declined'}). The invoice is still open: update the "
        "payment method to pay it.",
        dedupe_key=f"payment-failed:{payment.ref}",
        now=now,
        subscription_id=invoice.subscription_id,
    )
