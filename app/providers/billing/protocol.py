"""The billing provider contract.

Reads are batch-first: a sequence of refs in, a mapping out that omits unknown refs.
Every write takes an idempotency key: a retry with the same key returns the first result and
changes nothing; the same key with a different operation or different arguments is refused
with `ProviderRejected(code="idempotency_key_reused")`.

The provider does no pricing: the caller (app/domain) computes items and invoice lines, so a
quote and the charge agree whichever provider is configured. A provider that prorates an
amendment on its own side anyway (Zuora's orders) offers the optional `AmendmentPreview`
capability: the billing room asks it for its figure before amending and refuses the
amendment, writing nothing, when it differs by a cent from the domain's
(`ProviderRejected(code="proration_mismatch")`, app/services/billing/subscriptions.py).

Failures: `ProviderNotFound` when a write names an unknown account, subscription or invoice;
`ProviderRejected` for a malformed or disallowed request (code "invalid_request",
"invalid_payment_method", "currency_mismatch", "invoice_not_open", "subscription_not_active",
"invoice_paid", "payment_not_refundable", "refund_exceeds_payment", ...); `ProviderUnavailable`
when the provider cannot be reached. A declined card is an outcome, not an error:
`collect_payment` returns a FAILED `PaymentRecord`. A failed order is settled with
`void_invoice` (not paid yet) or `refund_payment` (paid), each with the order's own key.

`create_invoice`: `NewInvoice.due_on` is the local invoice's own due date, sent unchanged on
every attempt, so a charge retried on a later day sends the same request and replays the
first answer (never `idempotency_key_reused`). A due date already past on a brand-new invoice
is no error: the provider issues it due on its issue date (the record's `due_on` is
max(due_on, issued_on)). A provider whose invoices carry no due date (Stripe's
`charge_automatically`) keeps `due_on` out of the request it sends, or sends it unchanged;
either way it replays a retry.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Protocol, runtime_checkable

from app.providers.billing.records import (
    BillingAccountRecord,
    BillingSubscriptionRecord,
    ClocksAdvanced,
    InvoiceRecord,
    NewAccount,
    NewInvoice,
    PaymentRecord,
    RefundRecord,
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

    async def get_invoice_payments(
        self, invoice_refs: Sequence[str]
    ) -> Mapping[str, tuple[PaymentRecord, ...]]:
        """Every payment attempted on each invoice, oldest first (an unknown ref is omitted)."""
        ...

    async def void_invoice(self, invoice_ref: str, *, idempotency_key: str) -> InvoiceRecord:
        """Void an OPEN invoice: nothing can be collected on it afterwards. A VOID invoice is
        returned as it is; a PAID one is refused with "invoice_paid" (refund its payment)."""
        ...

    async def refund_payment(
        self, payment_ref: str, amount: int, *, idempotency_key: str
    ) -> RefundRecord:
        """Give back `amount` (> 0) of a SUCCEEDED payment: "payment_not_refundable" for a
        failed one, "refund_exceeds_payment" beyond what is left to refund."""
        ...


@runtime_checkable
class ClockedBilling(Protocol):
    """An optional capability: a provider whose objects live on test clocks of its own
    (Stripe's, under the app's test clock) moves them to the app's time when the app's test
    clock moves (app/services/billing/test_clocks.py). It changes the provider's state, so it
    is a write of the billing room; it takes no idempotency key: moving a clock to an
    instant it has reached changes nothing."""

    async def advance_test_clocks(self, to: datetime) -> ClocksAdvanced: ...


@runtime_checkable
class AmendmentPreview(Protocol):
    """Optional: a provider whose subscriptions prorate an amendment themselves."""

    async def preview_amendment(
        self, ref: str, items: Sequence[SubscriptionItem], effective: date
    ) -> int:
        """The provider's own prorated charge (minor units; a credit is negative) for making
        `items` the subscription's whole set from `effective` to the term end, as
        `amend_subscription` would; nothing is written."""
        ...
