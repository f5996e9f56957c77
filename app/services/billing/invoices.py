"""Invoices: the local invoice with its lines, written once, and the provider's request for
it, built once.

Orders and the lifecycle jobs (renewals, reconciliation) write their invoices here, in the
transaction that claims the work; the provider's copy is issued later with no transaction
open (app/services/billing/charging.py), from the same lines, so every attempt sends the
same request."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.db.repositories import catalog, orders
from app.db.tables import Invoice, InvoiceLine, Subscription
from app.domain.enums import InvoiceStatus
from app.domain.pricing import QuoteLine
from app.providers.billing import InvoiceLineRecord, NewInvoice
from app.services.numbering import invoice_number


@dataclass(frozen=True, slots=True)
class Billed:
    """Who an invoice bills, and for what."""

    customer_id: int
    billing_account_id: int
    subscription_id: int | None
    currency: str
    order_id: int | None = None

    @classmethod
    def subscription(cls, subscription: Subscription) -> Billed:
        """The subscription's paying account (a lifecycle charge)."""
        return cls(
            subscription.customer_id,
            subscription.billing_account_id,
            subscription.id,
            subscription.currency,
        )


@dataclass(frozen=True, slots=True)
class Amounts:
    subtotal: int
    discount: int
    total: int
    tax: int = 0  # the sum of the lines' tax amounts

    @classmethod
    def of_lines(cls, lines: Sequence[QuoteLine]) -> Amounts:
        """Lines without a discount: what they and their taxes add up to is the total."""
        subtotal = sum(line.amount for line in lines)
        tax = sum(line.tax_amount for line in lines)
        return cls(subtotal, 0, subtotal + tax, tax)


async def write_invoice(
    session: AsyncSession,
    billed: Billed,
    lines: Sequence[QuoteLine],
    today: date,
    amounts: Amounts | None = None,
) -> Invoice:
    """An OPEN invoice of the lines, due today, with its lines in order (each line's
    product found by its code, so the provider's request can be built back from them)."""
    amounts = amounts or Amounts.of_lines(lines)
    invoice = Invoice(
        number=await invoice_number(session),
        customer_id=billed.customer_id,
        billing_account_id=billed.billing_account_id,
        subscription_id=billed.subscription_id,
        order_id=billed.order_id,
        currency=billed.currency,
        subtotal=amounts.subtotal,
        discount=amounts.discount,
        tax=amounts.tax,
        total=amounts.total,
        status=InvoiceStatus.OPEN,
        issued_on=today,
        due_on=today,
    )
    session.add(invoice)
    await session.flush()
    codes = {line.product_code for line in lines if line.product_code}
    products = await orders.products_by_code(session, codes) if codes else {}
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
                tax_treatment=line.tax_treatment,
                tax_rate_ppm=line.tax_rate_ppm,
                tax_amount=line.tax_amount,
                tax_note=line.tax_note,
            )
        )
    return invoice


async def lines_of(session: AsyncSession, invoice_id: int) -> tuple[QuoteLine, ...]:
    """The invoice's lines as written, in order, with their products' codes."""
    rows = (
        await session.scalars(
            sa.select(InvoiceLine)
            .where(col(InvoiceLine.invoice_id) == invoice_id)
            .order_by(col(InvoiceLine.position))
        )
    ).all()
    product_ids = [row.product_id for row in rows if row.product_id is not None]
    products = await catalog.products_by_ids(session, product_ids)
    return tuple(
        QuoteLine(
            kind=row.kind,
            description=row.description,
            product_code=products[row.product_id].code if row.product_id in products else None,
            quantity=row.quantity,
            unit_amount=row.unit_amount,
            amount=row.amount,
            period_start=row.period_start,
            period_end=row.period_end,
            tax_treatment=row.tax_treatment,
            tax_rate_ppm=row.tax_rate_ppm,
            tax_amount=row.tax_amount,
            tax_note=row.tax_note,
        )
        for row in rows
    )


def provider_invoice(
    invoice: Invoice, account_ref: str, lines: Sequence[QuoteLine], due_on: date
) -> NewInvoice:
    """The provider's request for a local invoice and its lines. Tax is ours, not the
    provider's (docs/tax.md): it goes as one more line per rate, after the priced lines,
    so the provider's invoice adds up to our total; an untaxed invoice sends no tax line."""
    return NewInvoice(
        account_ref=account_ref,
        subscription_ref=None,
        currency=invoice.currency,
        lines=(
            *(
                InvoiceLineRecord(
                    description=line.description,
                    quantity=line.quantity,
                    unit_amount=line.unit_amount,
                    amount=line.amount,
                    product_code=line.product_code,
                    period_start=line.period_start,
                    period_end=line.period_end,
                )
                for line in lines
            ),
            *tax_records(lines),
        ),
        due_on=due_on,
    )


def tax_records(lines: Sequence[QuoteLine]) -> tuple[InvoiceLineRecord, ...]:
    """One line per tax (its note, e.g. "VAT 19% (DE)") with the sum of the lines' taxes at
    that rate; none for a tax that adds up to nothing (untaxed, reverse charge)."""
    sums: dict[tuple[str, int], int] = {}
    for line in lines:
        if line.tax_amount:
            key = (line.tax_note or "Tax", line.tax_rate_ppm)
            sums[key] = sums.get(key, 0) + line.tax_amount
    return tuple(
        InvoiceLineRecord(
            description=note,
            quantity=1,
            unit_amount=amount,
            amount=amount,
            product_code=None,
            period_start=None,
            period_end=None,
        )
        for (note, _), amount in sums.items()
        if amount
    )
