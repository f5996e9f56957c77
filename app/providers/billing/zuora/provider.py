"""`ZuoraBillingProvider`: the BillingProvider protocol over the area modules, plus the
optional `AmendmentPreview` capability (protocol.py)."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from datetime import date

from app.clock import Clock
from app.providers.billing.records import (
    BillingAccountRecord,
    BillingSubscriptionRecord,
    InvoiceRecord,
    NewAccount,
    NewInvoice,
    PaymentRecord,
    RefundRecord,
    SubscriptionItem,
)
from app.providers.billing.zuora import accounts, invoices, payments, subscriptions
from app.providers.billing.zuora.catalog import Catalog
from app.providers.billing.zuora.client import ZuoraApi, ZuoraSettings
from app.providers.billing.zuora.errors import PROVIDER


class ZuoraBillingProvider:
    name = PROVIDER

    def __init__(
        self,
        settings: ZuoraSettings,
        clock: Clock,
        *,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.api = ZuoraApi(settings, monotonic=monotonic)
        self._catalog = Catalog(self.api)
        self._clock = clock

    async def aclose(self) -> None:
        """Close the HTTP session."""
        await self.api.aclose()

    # -- accounts ----------------------------------------------------------------------------

    async def get_accounts(self, refs: Sequence[str]) -> Mapping[str, BillingAccountRecord]:
        return await accounts.get_accounts(self.api, refs)

    async def create_account(
        self, account: NewAccount, *, idempotency_key: str
    ) -> BillingAccountRecord:
        return await accounts.create_account(self.api, account, idempotency_key)

    async def set_payment_method(
        self, account_ref: str, payment_method: str, *, idempotency_key: str
    ) -> BillingAccountRecord:
        return await accounts.set_payment_method(
            self.api, account_ref, payment_method, idempotency_key
        )

    # -- subscriptions -----------------------------------------------------------------------

    async def get_subscriptions(
        self, refs: Sequence[str]
    ) -> Mapping[str, BillingSubscriptionRecord]:
        return await subscriptions.get_subscriptions(self.api, refs)

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
            self.api,
            self._catalog,
            self._clock,
            account_ref,
            term_start,
            term_end,
            items,
            idempotency_key,
        )

    async def preview_amendment(
        self, ref: str, items: Sequence[SubscriptionItem], effective: date
    ) -> int:
        return await subscriptions.preview_amendment(
            self.api, self._catalog, self._clock, ref, items, effective
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
            self.api, self._catalog, self._clock, ref, items, effective, idempotency_key
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
            self.api,
            self._catalog,
            self._clock,
            ref,
            term_start,
            term_end,
            items,
            idempotency_key,
        )

    async def cancel_subscription(
        self, ref: str, *, idempotency_key: str
    ) -> BillingSubscriptionRecord:
        return await subscriptions.set_auto_renew(
            self.api, self._clock, ref, False, idempotency_key
        )

    async def reactivate_subscription(
        self, ref: str, *, idempotency_key: str
    ) -> BillingSubscriptionRecord:
        return await subscriptions.set_auto_renew(self.api, self._clock, ref, True, idempotency_key)

    # -- invoices and payments ---------------------------------------------------------------

    async def get_invoices(self, refs: Sequence[str]) -> Mapping[str, InvoiceRecord]:
        return await invoices.get_invoices(self.api, refs)

    async def create_invoice(self, invoice: NewInvoice, *, idempotency_key: str) -> InvoiceRecord:
        return await invoices.create_invoice(self.api, invoice, idempotency_key)

    async def collect_payment(
        self, invoice_ref: str, payment_method: str, *, idempotency_key: str
    ) -> PaymentRecord:
        return await payments.collect_payment(
            self.api, invoice_ref, payment_method, idempotency_key
        )

    async def get_invoice_payments(
        self, invoice_refs: Sequence[str]
    ) -> Mapping[str, tuple[PaymentRecord, ...]]:
        return await payments.get_invoice_payments(self.api, invoice_refs)

    async def void_invoice(self, invoice_ref: str, *, idempotency_key: str) -> InvoiceRecord:
        return await invoices.void_invoice(self.api, invoice_ref, idempotency_key)

    async def refund_payment(
        self, payment_ref: str, amount: int, *, idempotency_key: str
    ) -> RefundRecord:
        return await payments.refund_payment(self.api, payment_ref, amount, idempotency_key)
