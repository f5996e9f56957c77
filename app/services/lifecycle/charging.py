"""Invoices the lifecycle issues, and charging them through the billing provider.

The local invoice (with its lines) is written in the transaction that claims the work; the
provider calls follow with no transaction open, each keyed by what is charged (a renewal's
subscription and term, a reconciliation's quarter), so a run resumed after a crash or an
outage replays the provider's first answers and never charges twice. A charge that failed
is replayed for its key, so each new attempt gets its own payment key."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.db.repositories import catalog, orders
from app.db.tables import BillingAccount, Invoice, InvoiceLine, Product, Subscription
from app.db.unit_of_work import unit_of_work
from app.domain.enums import InvoiceStatus, PaymentStatus, SyncStatus
from app.domain.pricing import QuoteLine
from app.providers.billing import InvoiceLineRecord, NewInvoice, PaymentRecord
from app.runtime import Runtime
from app.services.numbering import invoice_number
from app.services.payment_rows import payment_row
from app.services.provider_accounts import provider_account

NO_PAYMENT_METHOD = "no_payment_method"


@dataclass(frozen=True, slots=True)
class Charged:
    """The outcome of charging an invoice: paid (with the payment, None for a zero total),
    or declined with a failure code (and the failed payment, if one was attempted)."""

    paid: bool
    payment: PaymentRecord | None
    failure_code: str | None = None
    invoice_ref: str | None = None  # the provider's invoice, kept with the outcome


async def issue_invoice(
    session: AsyncSession, subscription: Subscription, lines: Sequence[QuoteLine], today: date
) -> Invoice:
    """An OPEN local invoice of the lines for the subscription's paying account."""
    total = sum(line.amount for line in lines)
    invoice = Invoice(
        number=await invoice_number(session),
        customer_id=subscription.customer_id,
        billing_account_id=subscription.billing_account_id,
        subscription_id=subscription.id,
        currency=subscription.currency,
        subtotal=total,
        total=total,
        status=InvoiceStatus.OPEN,
        issued_on=today,
        due_on=today,
    )
    session.add(invoice)
    await session.flush()
    codes = {line.product_code for line in lines if line.product_code}
    products = await orders.products_by_code(session, codes)
    for position, line in enumerate(lines, start=1):
        product = products.get(line.product_code or "")
        session.add(
            InvoiceLine(
                invoice_id=invoice.id or 0,
                position=position,
                kind=line.kind,
                description=line.description,
                product_id=product.id if product else None,
                quantity=line.quantity,
                unit_amount=line.unit_amount,
                amount=line.amount,
                period_start=line.period_start,
                period_end=line.period_end,
            )
        )
    return invoice


async def charge(runtime: Runtime, invoice_id: int, key: str, attempt: int) -> Charged:
    """Issue the invoice at the provider (once per `key`) and collect it (once per `key`
    and attempt). Provider errors propagate: unavailable is retried by a later claim."""
    async with unit_of_work(runtime.sessions, write=False) as session:
        invoice, lines, account = await _invoice(session, invoice_id)
    if invoice.total == 0:
        return Charged(paid=True, payment=None)
    billing = runtime.providers.billing
    account_ref = await provider_account(runtime.sessions, runtime.providers.billing, account)
    invoice_ref = invoice.provider_ref
    if invoice_ref is None:
        record = await billing.create_invoice(
            NewInvoice(
                account_ref=account_ref,
                subscription_ref=None,
                currency=invoice.currency,
                lines=lines,
                due_on=max(invoice.due_on, runtime.clock.today()),
            ),
            idempotency_key=f"{key}:invoice",
        )
        # Stored with the outcome: a run resumed before then gets the same invoice replayed.
        invoice_ref = record.ref
    if not account.payment_method:
        return Charged(False, None, NO_PAYMENT_METHOD, invoice_ref)
    payment = await billing.collect_payment(
        invoice_ref, account.payment_method, idempotency_key=f"{key}:payment:{attempt}"
    )
    if payment.status == PaymentStatus.SUCCEEDED.value:
        return Charged(True, payment, None, invoice_ref)
    return Charged(False, payment, payment.failure_code or "declined", invoice_ref)


def record_charge(session: AsyncSession, invoice: Invoice, charged: Charged) -> None:
    """The provider's invoice ref, the payment row, and the invoice PAID when the charge
    succeeded."""
    invoice.provider_ref = invoice.provider_ref or charged.invoice_ref
    if charged.payment is not None:
        session.add(payment_row(invoice, charged.payment))
    if charged.paid:
        invoice.status, invoice.amount_paid = InvoiceStatus.PAID, invoice.total
    invoice.sync_status = SyncStatus.PENDING  # the copy changed: the next billing sync checks


async def _invoice(
    session: AsyncSession, invoice_id: int
) -> tuple[Invoice, tuple[InvoiceLineRecord, ...], BillingAccount]:
    invoice = await session.get(Invoice, invoice_id)
    assert invoice is not None
    account = await session.get(BillingAccount, invoice.billing_account_id)
    assert account is not None
    rows = (
        await session.scalars(
            sa.select(InvoiceLine)
            .where(col(InvoiceLine.invoice_id) == invoice_id)
            .order_by(col(InvoiceLine.position))
        )
    ).all()
    product_ids = [row.product_id for row in rows if row.product_id is not None]
    products = await catalog.products_by_ids(session, product_ids)
    lines = tuple(
        InvoiceLineRecord(
            description=row.description,
            quantity=row.quantity,
            unit_amount=row.unit_amount,
            amount=row.amount,
            product_code=_code(products, row.product_id),
            period_start=row.period_start,
            period_end=row.period_end,
        )
        for row in rows
    )
    return invoice, lines, account


def _code(products: dict[int, Product], product_id: int | None) -> str | None:
    product = products.get(product_id) if product_id is not None else None
    return product.code if product else None
