"""The local provider's request checks, under this provider's name: a malformed request is
refused ("invalid_request") before anything reaches Stripe, so nothing changes there."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date

from app.providers import _checks
from app.providers.billing import _validation
from app.providers.billing.records import NewAccount, NewInvoice, SubscriptionItem
from app.providers.billing.stripe.errors import PROVIDER
from app.providers.errors import ProviderRejected


@contextmanager
def _as_stripe() -> Iterator[None]:
    try:
        yield
    except ProviderRejected as error:
        raise ProviderRejected(PROVIDER, error.code, error.message) from None


def new_account(account: NewAccount) -> None:
    with _as_stripe():
        _checks.check_text("name", account.name)
        _checks.check_text("email", account.email)
        _checks.check_currency(account.currency)
        if account.payment_method is not None:
            _checks.check_text("payment_method", account.payment_method)


def payment_method(token: str) -> None:
    with _as_stripe():
        _checks.check_text("payment_method", token)


def term(term_start: date, term_end: date) -> None:
    with _as_stripe():
        _validation.check_term(term_start, term_end)


def items(given: Sequence[SubscriptionItem]) -> tuple[SubscriptionItem, ...]:
    with _as_stripe():
        return _validation.check_items(given)


def new_invoice(invoice: NewInvoice) -> int:
    """The invoice's total (the sum of its lines)."""
    with _as_stripe():
        return _validation.check_new_invoice(invoice)


def refund_amount(amount: int) -> None:
    with _as_stripe():
        _checks.check_amounts(amount)
        if amount <= 0:
            raise _checks.invalid("a refund amount must be positive")


def invalid(message: str) -> ProviderRejected:
    return ProviderRejected(PROVIDER, "invalid_request", message)
