"""Neutral billing records: what every billing provider (local, Stripe, Zuora) speaks.

Amounts are integers in minor units of `currency` (ISO 4217, upper case). Status fields are
plain strings; their values are the members of the StrEnums below (which compare equal to
the strings).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum


class SubscriptionStatus(StrEnum):
    ACTIVE = "ACTIVE"
    # Auto-renew is off: the service runs to term_end and the subscription will not renew.
    CANCELLED = "CANCELLED"


class InvoiceStatus(StrEnum):
    OPEN = "OPEN"
    PAID = "PAID"
    VOID = "VOID"


class PaymentStatus(StrEnum):
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


class RefundStatus(StrEnum):
    SUCCEEDED = "SUCCEEDED"


@dataclass(frozen=True, slots=True)
class BillingAccountRecord:
    ref: str
    name: str
    email: str
    currency: str
    payment_method: str | None


@dataclass(frozen=True, slots=True)
class SubscriptionItem:
    """One recurring charge of a subscription: a plan, add-on or pack, at a price per term."""

    product_code: str
    quantity: int
    unit_amount: int


@dataclass(frozen=True, slots=True)
class BillingSubscriptionRecord:
    ref: str
    account_ref: str
    status: str
    term_start: date
    term_end: date
    auto_renew: bool
    items: tuple[SubscriptionItem, ...]


@dataclass(frozen=True, slots=True)
class InvoiceLineRecord:
    """A line as the customer sees it; `amount` is already rounded (and may be negative for a
    credit), so it need not equal quantity x unit_amount for a prorated line."""

    description: str
    quantity: int
    unit_amount: int
    amount: int
    product_code: str | None = None
    period_start: date | None = None
    period_end: date | None = None


@dataclass(frozen=True, slots=True)
class InvoiceRecord:
    ref: str
    account_ref: str
    subscription_ref: str | None
    currency: str
    total: int
    balance: int
    status: str
    issued_on: date
    due_on: date
    lines: tuple[InvoiceLineRecord, ...]


@dataclass(frozen=True, slots=True)
class PaymentRecord:
    ref: str
    invoice_ref: str
    amount: int
    currency: str
    status: str
    failure_code: str | None


@dataclass(frozen=True, slots=True)
class RefundRecord:
    """Money given back on a succeeded payment (all of it, or part)."""

    ref: str
    payment_ref: str
    invoice_ref: str
    amount: int
    currency: str
    status: str


@dataclass(frozen=True, slots=True)
class NewAccount:
    name: str
    email: str
    currency: str
    payment_method: str | None = None
    country: str | None = None  # the billing address's, ISO 3166-1 alpha-2
    tax_id: str | None = None  # the VAT or tax id, as the invoices show it


@dataclass(frozen=True, slots=True)
class NewInvoice:
    """An invoice to issue now; the provider totals the lines and does no pricing of its own.

    `due_on` is the local invoice's own due date, the same on every attempt (a retry on a
    later day is the same request under the same key, and replays). A date before the issue
    date is accepted: the issued invoice is due on the issue date (its `due_on` is
    max(due_on, issued_on)); see the protocol's module docstring."""

    account_ref: str
    subscription_ref: str | None
    currency: str
    lines: tuple[InvoiceLineRecord, ...]
    due_on: date


@dataclass(frozen=True, slots=True)
class ClocksAdvanced:
    """A provider's test clocks moved to `to` (ClockedBilling): the ids of those that got there,
    and of those that did not (refused, failed, or still moving when the wait ended)."""

    to: datetime
    advanced: tuple[str, ...] = ()
    behind: tuple[str, ...] = ()
