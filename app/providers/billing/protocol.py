"""The billing provider contract.

Reads are batch-first: a sequence of refs in, a mapping out that omits unknown refs.
Every write takes an idempotency key: a retry with the same key returns the first result and
changes nothing; the same key with a different operation or different arguments is refused
with `ProviderRejected(code="idempotency_key_reused")`.

The provider does no pricing: the caller (app/domain) computes items and invoice lines, so a
quote and the charge agree whichever provider is configured.

Failures: `ProviderNotFound` when a write names an unknown account, subscription or invoice;
`ProviderRejected` for a malformed or disallowed request (code "invalid_request",
"invalid_payment_method", "currency_mismatch", "invoice_not_open", "subscription_not_active",
...); `ProviderUnavailable` when the provider cannot be reached. A declined card is an
outcome, not an error: `collect_payment` returns a FAILED `PaymentRecord`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Protocol

from app.providers.billing.records import (
    BillingAccountRecord,
    BillingSubscriptionRecord,
    InvoiceRecord,
    NewAccount,
    NewInvoice,
    PaymentRecord,
    SubscriptionItem,
)


class BillingProvider(Protocol):
    async def get_accounts(self, refs: Sequence[str]) -> Mapping[str, BillingAccountRecord]: ...

    async def create_account(
        self, account: NewAccount, *, idempotency_key: str
    ) -> BillingAccountRecord: ...

    async def set_payment_method(
        self, account_ref: str, payment_method: str, *, idempotency_key: str
    ) -> BillingAccountRecord: ...

    async def get_subscriptions(
        self, refs: Sequence[str]
    ) -> Mapping[str, BillingSubscriptionRecord]: ...

    async def create_subscription(
        self,
        account_ref: str,
        term_start: date,
        term_end: date,
        items: Sequence[SubscriptionItem],
        *,
        idempotency_key: str,
    ) -> BillingSubscriptionRecord: ...

    async def amend_subscription(
        self,
        ref: str,
        items: Sequence[SubscriptionItem],
        effective: date,
        *,
        idempotency_key: str,
    ) -> BillingSubscriptionRecord:
        """Replace the subscription's items (the full new set) from `effective` on."""
        ...

    async def renew_subscription(
        self,
        ref: str,
        term_start: date,
        term_end: date,
        items: Sequence[SubscriptionItem],
        *,
        idempotency_key: str,
    ) -> BillingSubscriptionRecord:
        """Start the next term (term_start == current term_end) with the given items."""
        ...

    async def cancel_subscription(
        self, ref: str, *, idempotency_key: str
    ) -> BillingSubscriptionRecord:
        """Turn auto-renew off; the service runs to the term end."""
        ...

    async def reactivate_subscription(
        self, ref: str, *, idempotency_key: str
    ) -> BillingSubscriptionRecord:
        """Undo a cancel before the term ends: auto-renew back on."""
        ...

    async def get_invoices(self, refs: Sequence[str]) -> Mapping[str, InvoiceRecord]: ...

    async def create_invoice(
        self, invoice: NewInvoice, *, idempotency_key: str
    ) -> InvoiceRecord: ...

    async def collect_payment(
        self, invoice_ref: str, payment_method: str, *, idempotency_key: str
    ) -> PaymentRecord:
        """Charge the invoice's open balance; a decline returns a FAILED record."""
        ...
