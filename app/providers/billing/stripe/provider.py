"""`StripeBillingProvider`: the BillingProvider protocol over the area modules."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime

from app.clock import Clock
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
from app.providers.billing.stripe import (
    accounts,
    invoices,
    payments,
    subscriptions,
    test_clocks,
)
from app.providers.billing.stripe.client import StripeSettings, connect
from app.providers.billing.stripe.errors import PROVIDER


class StripeBillingProvider:
    """The BillingProvider; under the app's test clock (`StripeSettings.test_clocks`) also
    ClockedBilling: its customers live on Stripe test clocks that follow the app's."""

    name = PROVIDER

    def __init__(self, settings: StripeSettings, clock: Clock) -> None:
        self._api = connect(settings)
        self._clock = clock

    async def aclose(self) -> None:
        """Close the HTTP session."""
        await self._api.aclose()

    # -- accounts ----------------------------------------------------------------------------

    async def get_accounts(self, refs: Sequence[str]) -> Mapping[str, BillingAccountRecord]:
        return await accounts.get_accounts(self._api, refs)

    async def create_account(
        self, account: NewAccount, *, idempotency_key: str
    ) -> BillingAccountRecord:
        return await accounts.create_account(self._api, self._clock, account, idempotency_key)

    async def set_payment_method(
        self, account_ref: str, payment_method: str, *, idempotency_key: str
    ) -> BillingAccountRecord:
        return await accounts.set_payment_method(
            self._api, account_ref, payment_method, idempotency_key
        )

    # -- subscriptions -----------------------------------------------------------------------

    async def get_subscriptions(
        self, refs: Sequence[str]
    ) -> Mapping[str, BillingSubscriptionRecord]:
        return await subscriptions.get_subscriptions(self._api, refs)

    async def create_subscription(
        self,
        account_ref: str,
        term_start: date,
        term_end: date,
        items: Sequence[SubscriptionItem],
        *,
        idempotency_key: str,
    ) -> BillingSubscriptionRecord:
        return await subscriptions.create_subscription(
            self._api, self._clock, account_ref, term_start, term_end, items, idempotency_key
        )

    async def amend_subscription(
        self,
        ref: str,
        items: Sequence[SubscriptionItem],
        effective: date,
        *,
        idempotency_key: str,
    ) -> BillingSubscriptionRecord:
        return await subscriptions.amend_subscription(
            self._api, ref, items, effective, idempotency_key
        )

    async def renew_subscription(
        self,
        ref: str,
        term_start: date,
        term_end: date,
        items: Sequence[SubscriptionItem],
        *,
        idempotency_key: str,
    ) -> BillingSubscriptionRecord:
        return await subscriptions.renew_subscription(
            self._api, ref, term_start, term_end, items, idempotency_key
        )

    async def cancel_subscription(
        self, ref: str, *, idempotency_key: str
    ) -> BillingSubscriptionRecord:
        return await subscriptions.cancel_subscription(self._api, ref, idempotency_key)

    async def reactivate_subscription(
        self, ref: str, *, idempotency_key: str
    ) -> BillingSubscriptionRecord:
        return await subscriptions.reactivate_subscription(
            self._api, self._clock, ref, idempotency_key
        )

    # -- invoices and payments ---------------------------------------------------------------

    async def get_invoices(self, refs: Sequence[str]) -> Mapping[str, InvoiceRecord]:
        return await invoices.get_invoices(self._api, refs)

    async def create_invoice(self, invoice: NewInvoice, *, idempotency_key: str) -> InvoiceRecord:
        return await invoices.create_invoice(self._api, self._clock, invoice, idempotency_key)

    async def collect_payment(
        self, invoice_ref: str, payment_method: str, *, idempotency_key: str
    ) -> PaymentRecord:
        return await payments.collect_payment(
            self._api, invoice_ref, payment_method, idempotency_key
        )

    async def get_invoice_payments(
        self, invoice_refs: Sequence[str]
    ) -> Mapping[str, tuple[PaymentRecord, ...]]:
        return await payments.get_invoice_payments(self._api, invoice_refs)

    async def void_invoice(self, invoice_ref: str, *, idempotency_key: str) -> InvoiceRecord:
        return await invoices.void_invoice(self._api, invoice_ref, idempotency_key)

    async def refund_payment(
        self, payment_ref: str, amount: int, *, idempotency_key: str
    ) -> RefundRecord:
        return await payments.refund_payment(self._api, payment_ref, amount, idempotency_key)

    # -- test clocks (ClockedBilling) --------------------------------------------------------

    async def advance_test_clocks(self, to: datetime) -> ClocksAdvanced:
        """Move the app's Stripe test clocks to `to` (test_clocks.py); none outside the
        app's test clock."""
        if not self._api.settings.test_clocks:
            return ClocksAdvanced(to=to)
        return await test_clocks.advance(self._api, to)
