"""The request checks every billing provider makes, under Zuora's name: a malformed request
is refused ("invalid_request") before anything reaches Zuora, so nothing changes there."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date

from app.providers import _checks
from app.providers.billing import _validation
from app.providers.billing.records import NewAccount, NewInvoice, SubscriptionItem
from app.providers.billing.zuora.errors import PROVIDER
from app.providers.errors import ProviderRejected

MAX_KEY_LENGTH = 200  # Zuora takes keys shorter than 255 characters; steps add a few


@contextmanager
def _as_zuora() -> Iterator[None]:
    try:
        yield
    except ProviderRejected as error:
        raise ProviderRejected(PROVIDER, error.code, error.message) from None


def key(given: str) -> None:
    if not given or len(given) > MAX_KEY_LENGTH:
        raise invalid("idempotency key must be 1-200 chars")


def new_account(account: NewAccount) -> None:
    with _as_zuora():
        _checks.check_text("name", account.name)
        _checks.check_text("email", account.email)
        _checks.check_currency(account.currency)
        if account.payment_method is not None:
            _checks.check_text("payment_method", account.payment_method)


def payment_method(token: str) -> None:
    with _as_zuora():
        _checks.check_text("payment_method", token)


def term(term_start: date, term_end: date) -> None:
    with _as_zuora():
        _validation.check_term(term_start, term_end)


def items(given: Sequence[SubscriptionItem]) -> tuple[SubscriptionItem, ...]:
    with _as_zuora():
        return _validation.check_items(given)


def new_invoice(invoice: NewInvoice) -> int:
    """The invoice's total (the sum of its lines)."""
    with _as_zuora():
        return _validation.check_new_invoice(invoice)


def refund_amount(amount: int) -> None:
    with _as_zuora():
        _checks.check_amounts(amount)
        if amount <= 0:
            raise _checks.invalid("a refund amount must be positive")


def invalid(message: str) -> ProviderRejected:
    return ProviderRejected(PROVIDER, "invalid_request", message)
