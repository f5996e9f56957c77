"""The request checks every vendor adapter (Stripe, Zuora) makes before anything reaches its
vendor, under the adapter's own name: the local provider's checks (_validation.py), so a
malformed request is refused ("invalid_request") the same way by every implementation and
nothing changes at the vendor."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date

from app.providers import _checks
from app.providers.billing import _validation
from app.providers.billing.records import NewAccount, NewInvoice, SubscriptionItem
from app.providers.errors import ProviderRejected


@dataclass(frozen=True, slots=True)
class VendorChecks:
    provider: str

    @contextmanager
    def _named(self) -> Iterator[None]:
        try:
            yield
        except ProviderRejected as error:
            raise ProviderRejected(self.provider, error.code, error.message) from None

    def new_account(self, account: NewAccount) -> None:
        with self._named():
            _checks.check_text("name", account.name)
            _checks.check_text("email", account.email)
            _checks.check_currency(account.currency)
            if account.payment_method is not None:
                _checks.check_text("payment_method", account.payment_method)

    def payment_method(self, token: str) -> None:
        with self._named():
            _checks.check_text("payment_method", token)

    def term(self, term_start: date, term_end: date) -> None:
        with self._named():
            _validation.check_term(term_start, term_end)

    def items(self, given: Sequence[SubscriptionItem]) -> tuple[SubscriptionItem, ...]:
        with self._named():
            return _validation.check_items(given)

    def new_invoice(self, invoice: NewInvoice) -> int:
        """The invoice's total (the sum of its lines)."""
        with self._named():
            return _validation.check_new_invoice(invoice)

    def refund_amount(self, amount: int) -> None:
        with self._named():
            _checks.check_amounts(amount)
            if amount <= 0:
                raise _checks.invalid("a refund amount must be positive")

    def invalid(self, message: str) -> ProviderRejected:
        return ProviderRejected(self.provider, "invalid_request", message)
