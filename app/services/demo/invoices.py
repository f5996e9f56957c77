"""An invoice per spec row: priced lines, totals, payment attempts, and the ledger's copy."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from pydantic import TypeAdapter

from app.db.tables import (
    Invoice,
    InvoiceLine,
    LedgerInvoice,
    LedgerPayment,
    Payment,
    Subscription,
)
from app.domain.enums import InvoiceLineKind, PaymentStatus, SyncStatus
from app.providers.billing.records import InvoiceLineRecord
from app.services.demo.context import CURRENCY, World
from app.services.demo.rows import ident
from app.services.demo.specs import (
    PAYMENT_METHOD,
    Charge,
    InvoiceSpec,
    LineSpec,
    PaymentSpec,
    invoice_ref,
    payment_ref,
)
from app.services.demo.timeline import add_months, scaled
from app.services.numbering import invoice_number

_LINES = TypeAdapter(list[InvoiceLineRecord])


@dataclass(frozen=True, slots=True)
class PricedLine:
    description: str
    product: str
    quantity: int
    unit_amount: int
    amount: int
    period: tuple[date, date] | None


async def add_invoice(world: World, spec: InvoiceSpec) -> Invoice:
    subscription = world.subscriptions[spec.subscription]
    issued = spec.issued.on(world.today, subscription.term_start)
    lines = [_price(world, line, subscription, issued) for line in spec.lines]
    number = await invoice_number(world.session)
    invoice = _invoice(world, spec, subscription, issued, lines, number)
    world.session.add(invoice)
    await world.session.flush()
    card = world.paying_account(spec.subscription).payment_method or PAYMENT_METHOD
    payments = [
        _payment(world, invoice, world.ref(payment_ref(spec.key, n)), attempt, card)
        for n, attempt in enumerate(spec.payments, 1)
    ]
    world.session.add_all(_line(world, invoice, n, line) for n, line in enumerate(lines, 1))
    world.session.add_all(payments)
    if world.ledger:
        world.session.add(_ledger_invoice(world, invoice, spec, lines))
        world.session.add_all(_ledger_payment(invoice, payment) for payment in payments)
    return invoice


def _price(world: World, line: LineSpec, subscription: Subscription, issued: date) -> PricedLine:
    unit = world.prices[line.product]
    full = line.quantity * unit
    start, end = subscription.term_start, subscription.term_end
    amount = full
    period: tuple[date, date] | None = (start, end)
    if line.charge is Charge.ONE_TIME:
        period = None
    elif line.charge is Charge.REST_OF_TERM:
        amount, period = scaled(full, (end - issued).days, (end - start).days), (issued, end)
    elif line.charge is Charge.QUARTERS:
        amount = scaled(full, line.quarters, 4)
        period = (add_months(start, 3 * (4 - line.quarters)), end)
    return PricedLine(line.description, line.product, line.quantity, unit, amount, period)


def _invoice(
    world: World,
    spec: InvoiceSpec,
    subscription: Subscription,
    issued: date,
    lines: list[PricedLine],
    number: str,
) -> Invoice:
    subtotal = sum(line.amount for line in lines)
    tax = scaled(subtotal, spec.tax_percent, 100)
    paid = any(p.status is PaymentStatus.SUCCEEDED for p in spec.payments)
    return Invoice(
        number=number,
        customer_id=subscription.customer_id,
        billing_account_id=subscription.billing_account_id,
        subscription_id=ident(subscription),
        currency=CURRENCY,
        subtotal=subtotal,
        discount=0,
        tax=tax,
        total=subtotal + tax,
        amount_paid=subtotal + tax if paid else 0,
        status=spec.status,
        issued_on=issued,
        due_on=issued + timedelta(days=spec.due_days),
        provider_ref=world.ref(invoice_ref(spec.key)),
        sync_status=SyncStatus.SYNCED,
        created_at=world.at(issued),
    )


def _line(world: World, invoice: Invoice, position: int, line: PricedLine) -> InvoiceLine:
    return InvoiceLine(
        invoice_id=ident(invoice),
        position=position,
        kind=InvoiceLineKind.CHARGE,
        description=line.description,
        product_id=world.product_id(line.product),
        quantity=line.quantity,
        unit_amount=line.unit_amount,
        amount=line.amount,
        period_start=line.period[0] if line.period else None,
        period_end=line.period[1] if line.period else None,
    )


def _payment(
    world: World, invoice: Invoice, ref: str | None, attempt: PaymentSpec, card: str
) -> Payment:
    return Payment(
        invoice_id=ident(invoice),
        amount=invoice.total,
        currency=invoice.currency,
        status=attempt.status,
        failure_code=attempt.failure_code,
        payment_method=card,
        provider_ref=ref,
        created_at=world.at(invoice.issued_on),
    )


def _ledger_invoice(
    world: World, invoice: Invoice, spec: InvoiceSpec, lines: list[PricedLine]
) -> LedgerInvoice:
    subscription = world.subscriptions[spec.subscription]
    return LedgerInvoice(
        ref=invoice.provider_ref or "",
        account_ref=world.paying_account(spec.subscription).provider_ref or "",
        subscription_ref=subscription.provider_ref,
        currency=invoice.currency,
        total=invoice.total,
        balance=invoice.total - invoice.amount_paid,
        status=invoice.status.value,
        issued_on=invoice.issued_on,
        due_on=invoice.due_on,
        lines=_ledger_lines(lines, invoice.tax, spec.tax_percent),
    )


def _ledger_lines(lines: list[PricedLine], tax: int, tax_percent: int) -> list[dict[str, Any]]:
    """The customer-facing lines; the provider keeps tax as a line of its own."""
    records = [
        InvoiceLineRecord(
            description=line.description,
            quantity=line.quantity,
            unit_amount=line.unit_amount,
            amount=line.amount,
            product_code=line.product,
            period_start=line.period[0] if line.period else None,
            period_end=line.period[1] if line.period else None,
        )
        for line in lines
    ]
    if tax:
        records.append(InvoiceLineRecord(f"Tax ({tax_percent}%)", 1, tax, tax))
    return _LINES.dump_python(records, mode="json")  # type: ignore[no-any-return]


def _ledger_payment(invoice: Invoice, payment: Payment) -> LedgerPayment:
    return LedgerPayment(
        ref=payment.provider_ref or "",
        invoice_ref=invoice.provider_ref or "",
        amount=payment.amount,
        currency=payment.currency,
        status=payment.status.value,
        failure_code=payment.failure_code,
        payment_method=payment.payment_method or PAYMENT_METHOD,
        created_at=payment.created_at,
    )
