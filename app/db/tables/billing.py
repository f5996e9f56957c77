"""Money: billing accounts, orders, invoices and payments (a synced copy of the provider's)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.db.types import enum_field, json_field, minor_units_field, timestamp_field, utcnow
from app.domain.enums import (
    CreditNoteKind,
    CreditNoteReason,
    CreditNoteStatus,
    InvoiceLineKind,
    InvoiceStatus,
    OrderStatus,
    PaymentStatus,
    SyncStatus,
    TaxTreatment,
)


class BillingAccount(SQLModel, table=True):
    """Who pays: a customer's own account, or the partner's for what the partner sells."""

    __tablename__ = "billing_account"
    __table_args__ = (
        sa.CheckConstraint("(customer_id IS NULL) <> (partner_id IS NULL)", name="owner"),
    )

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int | None = Field(default=None, foreign_key="customer.id", index=True)
    partner_id: int | None = Field(default=None, foreign_key="partner.id", index=True)
    name: str = Field(max_length=200)
    currency: str = Field(max_length=3)
    sold_to_name: str = Field(max_length=200)
    sold_to_email: str = Field(max_length=320)
    bill_to_name: str = Field(max_length=200)
    bill_to_email: str = Field(max_length=320)
    tax_id: str | None = Field(default=None, max_length=64)
    # The buyer's postal address, printed on invoices (country: ISO 3166-1 alpha-2).
    billing_address_line1: str | None = Field(default=None, max_length=200)
    billing_address_line2: str | None = Field(default=None, max_length=200)
    billing_city: str | None = Field(default=None, max_length=100)
    billing_postal_code: str | None = Field(default=None, max_length=20)
    billing_region: str | None = Field(default=None, max_length=100)
    billing_country: str | None = Field(default=None, max_length=2)
    payment_method: str | None = Field(default=None, max_length=64)
    provider_ref: str | None = Field(default=None, max_length=64)
    sync_status: SyncStatus = enum_field(SyncStatus, default=SyncStatus.PENDING)


class Order(SQLModel, table=True):
    __tablename__ = "order"
    __table_args__ = (
        sa.UniqueConstraint("customer_id", "idempotency_key"),
        # The recovery job's claim: PENDING orders whose executor's lease ran out.
        sa.Index("ix_order_status_processing_until", "status", "processing_until"),
    )

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    subscription_id: int | None = Field(default=None, foreign_key="subscription.id", index=True)
    status: OrderStatus = enum_field(OrderStatus)
    idempotency_key: str = Field(max_length=128)
    quote_digest: str = Field(max_length=64)
    actions: list[dict[str, Any]] = json_field(default_factory=list)
    currency: str = Field(max_length=3)
    subtotal: int = minor_units_field()
    discount: int = minor_units_field(default=0)
    total: int = minor_units_field()
    placed_by: str = Field(max_length=200)
    # Whoever set this (and it has not passed) is executing the order; others wait or replay.
    processing_until: datetime | None = timestamp_field(default=None)
    result: dict[str, Any] | None = json_field(default=None)
    # What a worker needs to finish the order without its client (the signed quote's
    # payload, who placed it and why): app/services/orders/recovery.py.
    resume: dict[str, Any] | None = json_field(default=None)
    recovery_failures: int = 0  # rounds of the recovery job that ended in an unexpected error
    # Given back at the provider when the order failed after its charge.
    refunded: int = minor_units_field(default=0)
    refund_ref: str | None = Field(default=None, max_length=64)
    created_at: datetime = timestamp_field(default_factory=utcnow)
    completed_at: datetime | None = timestamp_field(default=None)


class Invoice(SQLModel, table=True):
    __tablename__ = "invoice"

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(max_length=32, unique=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    billing_account_id: int = Field(foreign_key="billing_account.id", index=True)
    subscription_id: int | None = Field(default=None, foreign_key="subscription.id", index=True)
    order_id: int | None = Field(default=None, foreign_key="order.id")
    currency: str = Field(max_length=3)
    subtotal: int = minor_units_field()
    discount: int = minor_units_field(default=0)
    tax: int = minor_units_field(default=0)
    total: int = minor_units_field()
    amount_paid: int = minor_units_field(default=0)
    status: InvoiceStatus = enum_field(InvoiceStatus, index=True)
    issued_on: date
    due_on: date
    provider_ref: str | None = Field(default=None, max_length=64)
    sync_status: SyncStatus = enum_field(SyncStatus, default=SyncStatus.PENDING)
    created_at: datetime = timestamp_field(default_factory=utcnow)


class InvoiceLine(SQLModel, table=True):
    __tablename__ = "invoice_line"

    id: int | None = Field(default=None, primary_key=True)
    invoice_id: int = Field(foreign_key="invoice.id", index=True)
    position: int
    kind: InvoiceLineKind = enum_field(InvoiceLineKind)
    description: str = Field(max_length=500)
    product_id: int | None = Field(default=None, foreign_key="product.id")
    quantity: int
    unit_amount: int = minor_units_field()
    amount: int = minor_units_field()
    period_start: date | None = None
    period_end: date | None = None
    # The line's tax (docs/tax.md); the invoice's `tax` is the sum of its lines' tax_amount.
    tax_treatment: TaxTreatment = enum_field(TaxTreatment, default=TaxTreatment.NOT_TAXED)
    tax_rate_ppm: int = 0  # parts per million: 19 % is 190 000
    tax_amount: int = minor_units_field(default=0)
    tax_note: str | None = Field(default=None, max_length=300)


class Payment(SQLModel, table=True):
    __tablename__ = "payment"
    # One row per provider payment (rows without a provider ref are not constrained).
    __table_args__ = (sa.Index("ix_payment_provider_ref", "provider_ref", unique=True),)

    id: int | None = Field(default=None, primary_key=True)
    invoice_id: int = Field(foreign_key="invoice.id", index=True)
    amount: int = minor_units_field()
    currency: str = Field(max_length=3)
    status: PaymentStatus = enum_field(PaymentStatus)
    failure_code: str | None = Field(default=None, max_length=64)
    payment_method: str | None = Field(default=None, max_length=64)
    provider_ref: str | None = Field(default=None, max_length=64)
    created_at: datetime = timestamp_field(default_factory=utcnow)


class CreditNote(SQLModel, table=True):
    """Money given back against an invoice (app/services/payments/credit_notes.py): refunded
    to the payment that paid it (`payment_id`, the provider's `refund_ref`), or credited
    outside the provider. Its amount is reserved while PENDING, so concurrent notes never
    give back more than the invoice allows; one per (invoice, idempotency key)."""

    __tablename__ = "credit_note"
    __table_args__ = (sa.UniqueConstraint("invoice_id", "idempotency_key"),)

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(max_length=32, unique=True)
    invoice_id: int = Field(foreign_key="invoice.id", index=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    kind: CreditNoteKind = enum_field(CreditNoteKind)
    reason: CreditNoteReason = enum_field(CreditNoteReason)
    status: CreditNoteStatus = enum_field(CreditNoteStatus)
    currency: str = Field(max_length=3)
    amount: int = minor_units_field()
    # [{"description": str, "amount": int}], adding up to `amount`.
    lines: list[dict[str, Any]] = json_field(default_factory=list)
    idempotency_key: str = Field(max_length=128)
    request_digest: str = Field(max_length=64)  # the key's request: another one is refused
    payment_id: int | None = Field(default=None, foreign_key="payment.id")
    refund_ref: str | None = Field(default=None, max_length=64)
    failure_code: str | None = Field(default=None, max_length=64)
    created_by: str = Field(max_length=200)
    created_at: datetime = timestamp_field(default_factory=utcnow)
    issued_at: datetime | None = timestamp_field(default=None)
