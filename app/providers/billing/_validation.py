"""Request checks of the local billing provider; each failure is a ProviderRejected."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from types import MappingProxyType
from typing import Final

from app.providers._checks import check_amounts, check_currency, check_text, invalid
from app.providers.billing.records import (
    InvoiceLineRecord,
    NewAccount,
    NewInvoice,
    SubscriptionItem,
)
from app.providers.errors import ProviderRejected

PROVIDER = "local"

# Test payment-method tokens of the local provider -> the failure code of a charge (None:
# the charge succeeds). Any other token is refused with "invalid_payment_method". The
# pm_card_charge* names are Stripe's documented test payment methods, so one set of tokens
# serves every billing implementation.
TEST_PAYMENT_METHODS: Final[Mapping[str, str | None]] = MappingProxyType(
    {
        "pm_card_visa": None,
        "pm_card_mastercard": None,
        "pm_card_declined": "card_declined",
        "pm_card_insufficient_funds": "insufficient_funds",
        "pm_card_chargeCustomerFail": "card_declined",
        "pm_card_chargeDeclined": "card_declined",
    }
)

# Tokens refused when set on an account (Stripe declines them when attaching: the card check
# fails) -> the code of the ProviderRejected. They may still be charged directly (and decline).
REFUSED_ON_ACCOUNT: Final[Mapping[str, str]] = MappingProxyType(
    {"pm_card_chargeDeclined": "card_declined"}
)


def check_payment_method(token: str) -> None:
    if token not in TEST_PAYMENT_METHODS:
        raise ProviderRejected(PROVIDER, "invalid_payment_method", f"unknown token {token!r}")


def check_account_payment_method(token: str) -> None:
    """A token to keep on an account: known, and one whose card check passes."""
    check_payment_method(token)
    if token in REFUSED_ON_ACCOUNT:
        code = REFUSED_ON_ACCOUNT[token]
        raise ProviderRejected(PROVIDER, code, f"the card check of {token!r} failed")


def check_new_account(account: NewAccount) -> None:
    check_text("name", account.name)
    check_text("email", account.email)
    check_currency(account.currency)
    if account.payment_method is not None:
        check_account_payment_method(account.payment_method)


def check_new_invoice(invoice: NewInvoice, issued_on: date) -> int:
    """Validate an invoice to issue on `issued_on`; return its total."""
    check_currency(invoice.currency)
    if invoice.due_on < issued_on:
        raise invalid("due_on must not be before the issue date")
    return check_lines(invoice.lines)


def check_term(term_start: date, term_end: date) -> None:
    if term_end <= term_start:
        raise invalid("term_end must be after term_start")


def check_items(items: Sequence[SubscriptionItem]) -> tuple[SubscriptionItem, ...]:
    codes = [item.product_code for item in items]
    if not items:
        raise invalid("a subscription needs at least one item")
    if len(set(codes)) != len(codes):
        raise invalid("each product_code may appear once")
    for item in items:
        check_text("product_code", item.product_code)
        check_amounts(item.quantity, item.unit_amount)
        if item.quantity < 0 or item.unit_amount < 0:
            raise invalid("quantity and unit_amount must not be negative")
    return tuple(items)


def check_lines(lines: Sequence[InvoiceLineRecord]) -> int:
    """Validate invoice lines; return the total (sum of line amounts)."""
    if not lines:
        raise invalid("an invoice needs at least one line")
    for line in lines:
        check_text("description", line.description)
        check_amounts(line.quantity, line.unit_amount, line.amount)
        start, end = line.period_start, line.period_end
        if start is not None and end is not None and end <= start:
            raise invalid("period_end must be after period_start")
    total = sum(line.amount for line in lines)
    if total < 0:
        raise invalid("an invoice total must not be negative")
    return total
