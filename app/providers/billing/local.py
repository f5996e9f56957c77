"""The embedded billing provider: a small ledger in the local database (Ledger* tables).

It behaves like a remote billing system: each call runs in its own transaction, every write
is idempotent (the first response per key is stored in LedgerIdempotency and replayed), and
refs are readable and sequential by row id: "acct_000001", "sub_000001", "inv_000001",
"pay_000001".

Test payment-method tokens (TEST_PAYMENT_METHODS), accepted by create_account,
set_payment_method and collect_payment; the pm_card_charge* ones are Stripe's documented test
payment methods and behave as they do there, so one set of tokens serves every implementation:

- "pm_card_visa", "pm_card_mastercard": the charge succeeds; the invoice becomes PAID with
  balance 0.
- "pm_card_declined", "pm_card_chargeCustomerFail": the card is kept on the account, and the
  payment is FAILED with failure_code "card_declined".
- "pm_card_insufficient_funds": the payment is FAILED with "insufficient_funds".
- "pm_card_chargeDeclined": refused when set on an account (create_account,
  set_payment_method: ProviderRejected(code="card_declined")); charged directly, the payment
  is FAILED with "card_declined".
- any other token: ProviderRejected(code="invalid_payment_method"), nothing is recorded.

A failed payment is recorded (and replayed for its key); the invoice stays OPEN, and a new
attempt needs a new idempotency key. An invoice whose total is 0 is issued PAID.

An OPEN invoice can be voided (nothing is collected on it afterwards); a succeeded payment
can be refunded, in full or in parts up to its amount ("re_000001"); the invoice stays PAID.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.clock import Clock
from app.db.tables.local_providers import (
    LedgerAccount,
    LedgerInvoice,
    LedgerPayment,
    LedgerRefund,
    LedgerSubscription,
)
from app.providers import _checks as checks
from app.providers._sql import add_with_ref, dump_json, read_session
from app.providers.billing import _idempotency as idem
from app.providers.billing import _ledger as ledger
from app.providers.billing import _validation as check
from app.providers.billing.records import (
    BillingAccountRecord,
    BillingSubscriptionRecord,
    InvoiceRecord,
    InvoiceStatus,
    NewAccount,
    NewInvoice,
    PaymentRecord,
    PaymentStatus,
    RefundRecord,
    RefundStatus,
    SubscriptionItem,
    SubscriptionStatus,
)
from app.providers.errors import ProviderRejected

R = TypeVar("R")


class LocalBillingProvider:
    name = "local"

    def __init__(self, session_factory: async_sessionmaker[AsyncSession], clock: Clock) -> None:
        self._sessions = session_factory
        self._clock = clock

    async def aclose(self) -> None:
        """Nothing to release: each call opens and closes its own session."""

    # -- reads -------------------------------------------------------------------------------

    async def get_accounts(self, refs: Sequence[str]) -> Mapping[str, BillingAccountRecord]:
        async with read_session(self._sessions) as s:
            rows = await ledger.rows_by_ref(s, LedgerAccount, refs)
        return {row.ref: ledger.account_record(row) for row in rows}

    async def get_subscriptions(
        self, refs: Sequence[str]
    ) -> Mapping[str, BillingSubscriptionRecord]:
        async with read_session(self._sessions) as s:
            rows = await ledger.rows_by_ref(s, LedgerSubscription, refs)
        return {row.ref: ledger.subscription_record(row) for row in rows}

    async def get_invoices(self, refs: Sequence[str]) -> Mapping[str, InvoiceRecord]:
        async with read_session(self._sessions) as s:
            rows = await ledger.rows_by_ref(s, LedgerInvoice, refs)
        return {row.ref: ledger.invoice_record(row) for row in rows}

    # -- accounts ----------------------------------------------------------------------------

    async def create_account(
        self, account: NewAccount, *, idempotency_key: str
    ) -> BillingAccountRecord:
        check.check_new_account(account)

        async def work(s: AsyncSession) -> BillingAccountRecord:
            row = LedgerAccount(
                ref="",
                name=account.name,
                email=account.email,
                currency=account.currency,
                payment_method=account.payment_method,
                created_at=self._clock.now(),
            )
            await add_with_ref(s, row, "acct")
            return ledger.account_record(row)

        request = dump_json(NewAccount, account)
        return await self._once(
            "create_account", idempotency_key, request, BillingAccountRecord, work
        )

    async def set_payment_method(
        self, account_ref: str, payment_method: str, *, idempotency_key: str
    ) -> BillingAccountRecord:
        check.check_account_payment_method(payment_method)

        async def work(s: AsyncSession) -> BillingAccountRecord:
            row = await ledger.find(s, LedgerAccount, account_ref)
            row.payment_method = payment_method
            return ledger.account_record(row)

        request = {"account_ref": account_ref, "payment_method": payment_method}
        return await self._once(
            "set_payment_method", idempotency_key, request, BillingAccountRecord, work
        )

    # -- subscriptions -----------------------------------------------------------------------

    async def create_subscription(
        self,
        account_ref: str,
        term_start: date,
        term_end: date,
        items: Sequence[SubscriptionItem],
        *,
        idempotency_key: str,
    ) -> BillingSubscriptionRecord:
        check.check_term(term_start, term_end)
        checked = check.check_items(items)

        async def work(s: AsyncSession) -> BillingSubscriptionRecord:
            await ledger.find(s, LedgerAccount, account_ref, lock=False)
            row = LedgerSubscription(
                ref="",
                account_ref=account_ref,
                status=SubscriptionStatus.ACTIVE.value,
                term_start=term_start,
                term_end=term_end,
                auto_renew=True,
                items=ledger.items_json(checked),
            )
            await add_with_ref(s, row, "sub")
            return ledger.subscription_record(row)

        request = _term_request(account_ref, term_start, term_end, checked)
        return await self._once(
            "create_subscription", idempotency_key, request, BillingSubscriptionRecord, work
        )

    async def amend_subscription(
        self,
        ref: str,
        items: Sequence[SubscriptionItem],
        effective: date,
        *,
        idempotency_key: str,
    ) -> BillingSubscriptionRecord:
        checked = check.check_items(items)

        async def work(s: AsyncSession) -> BillingSubscriptionRecord:
            row = await ledger.find(s, LedgerSubscription, ref)
            if not row.term_start <= effective < row.term_end:
                raise checks.invalid("effective date is outside the current term")
            row.items, row.version = ledger.items_json(checked), row.version + 1
            return ledger.subscription_record(row)

        request = {"ref": ref, "effective": effective.isoformat(), **_items_request(checked)}
        return await self._once(
            "amend_subscription", idempotency_key, request, BillingSubscriptionRecord, work
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
        check.check_term(term_start, term_end)
        checked = check.check_items(items)

        async def work(s: AsyncSession) -> BillingSubscriptionRecord:
            row = await ledger.find(s, LedgerSubscription, ref)
            _require_active(row)
            if term_start != row.term_end:
                raise checks.invalid("a renewal term starts where the current term ends")
            row.term_start, row.term_end = term_start, term_end
            row.items, row.version = ledger.items_json(checked), row.version + 1
            return ledger.subscription_record(row)

        request = _term_request(ref, term_start, term_end, checked)
        return await self._once(
            "renew_subscription", idempotency_key, request, BillingSubscriptionRecord, work
        )

    async def cancel_subscription(
        self, ref: str, *, idempotency_key: str
    ) -> BillingSubscriptionRecord:
        async def work(s: AsyncSession) -> BillingSubscriptionRecord:
            row = await ledger.find(s, LedgerSubscription, ref)
            _set_renewing(row, False)
            return ledger.subscription_record(row)

        return await self._once(
            "cancel_subscription", idempotency_key, {"ref": ref}, BillingSubscriptionRecord, work
        )

    async def reactivate_subscription(
        self, ref: str, *, idempotency_key: str
    ) -> BillingSubscriptionRecord:
        async def work(s: AsyncSession) -> BillingSubscriptionRecord:
            row = await ledger.find(s, LedgerSubscription, ref)
            if self._clock.today() >= row.term_end:
                raise ProviderRejected(self.name, "subscription_ended", "the term has ended")
            _set_renewing(row, True)
            return ledger.subscription_record(row)

        return await self._once(
            "reactivate_subscription",
            idempotency_key,
            {"ref": ref},
            BillingSubscriptionRecord,
            work,
        )

    # -- invoices and payments ---------------------------------------------------------------

    async def create_invoice(self, invoice: NewInvoice, *, idempotency_key: str) -> InvoiceRecord:
        today = self._clock.today()
        total = check.check_new_invoice(invoice, today)

        async def work(s: AsyncSession) -> InvoiceRecord:
            await self._check_invoice_owner(s, invoice)
            row = LedgerInvoice(
                ref="",
                account_ref=invoice.account_ref,
                subscription_ref=invoice.subscription_ref,
                currency=invoice.currency,
                total=total,
                balance=total,
                status=(InvoiceStatus.OPEN if total else InvoiceStatus.PAID).value,
                issued_on=today,
                due_on=invoice.due_on,
                lines=ledger.lines_json(invoice.lines),
            )
            await add_with_ref(s, row, "inv")
            return ledger.invoice_record(row)

        request = dump_json(NewInvoice, invoice)
        return await self._once("create_invoice", idempotency_key, request, InvoiceRecord, work)

    async def collect_payment(
        self, invoice_ref: str, payment_method: str, *, idempotency_key: str
    ) -> PaymentRecord:
        check.check_payment_method(payment_method)
        failure_code = check.TEST_PAYMENT_METHODS[payment_method]

        async def work(s: AsyncSession) -> PaymentRecord:
            invoice = await ledger.find(s, LedgerInvoice, invoice_ref)
            if invoice.status != InvoiceStatus.OPEN:
                raise ProviderRejected(
                    self.name, "invoice_not_open", f"invoice is {invoice.status}"
                )
            payment = LedgerPayment(
                ref="",
                invoice_ref=invoice.ref,
                amount=invoice.balance,
                currency=invoice.currency,
                status=(PaymentStatus.FAILED if failure_code else PaymentStatus.SUCCEEDED).value,
                failure_code=failure_code,
                payment_method=payment_method,
                created_at=self._clock.now(),
            )
            await add_with_ref(s, payment, "pay")
            if failure_code is None:
                invoice.balance, invoice.status = 0, InvoiceStatus.PAID.value
            return ledger.payment_record(payment)

        request = {"invoice_ref": invoice_ref, "payment_method": payment_method}
        return await self._once("collect_payment", idempotency_key, request, PaymentRecord, work)

    async def get_invoice_payments(
        self, invoice_refs: Sequence[str]
    ) -> Mapping[str, tuple[PaymentRecord, ...]]:
        async with read_session(self._sessions) as s:
            invoices = await ledger.rows_by_ref(s, LedgerInvoice, invoice_refs)
            payments = await ledger.payments_of(s, invoice_refs)
        found: dict[str, tuple[PaymentRecord, ...]] = {row.ref: () for row in invoices}
        for payment in payments:
            found[payment.invoice_ref] += (ledger.payment_record(payment),)
        return found

    async def void_invoice(self, invoice_ref: str, *, idempotency_key: str) -> InvoiceRecord:
        async def work(s: AsyncSession) -> InvoiceRecord:
            invoice = await ledger.find(s, LedgerInvoice, invoice_ref)
            if invoice.status == InvoiceStatus.PAID:
                raise ProviderRejected(self.name, "invoice_paid", "refund its payment instead")
            invoice.status = InvoiceStatus.VOID.value
            return ledger.invoice_record(invoice)

        request = {"invoice_ref": invoice_ref}
        return await self._once("void_invoice", idempotency_key, request, InvoiceRecord, work)

    async def refund_payment(
        self, payment_ref: str, amount: int, *, idempotency_key: str
    ) -> RefundRecord:
        checks.check_amounts(amount)
        if amount <= 0:
            raise checks.invalid("a refund amount must be positive")

        async def work(s: AsyncSession) -> RefundRecord:
            payment = await ledger.find(s, LedgerPayment, payment_ref)
            if payment.status != PaymentStatus.SUCCEEDED:
                raise ProviderRejected(self.name, "payment_not_refundable", "it did not succeed")
            if amount > payment.amount - await ledger.refunded(s, payment_ref):
                raise ProviderRejected(self.name, "refund_exceeds_payment", "more than is left")
            refund = LedgerRefund(
                ref="",
                payment_ref=payment.ref,
                invoice_ref=payment.invoice_ref,
                amount=amount,
                currency=payment.currency,
                status=RefundStatus.SUCCEEDED.value,
                created_at=self._clock.now(),
            )
            await add_with_ref(s, refund, "re")
            return ledger.refund_record(refund)

        request = {"payment_ref": payment_ref, "amount": amount}
        return await self._once("refund_payment", idempotency_key, request, RefundRecord, work)

    # -- helpers -----------------------------------------------------------------------------

    async def _check_invoice_owner(self, s: AsyncSession, invoice: NewInvoice) -> None:
        account = await ledger.find(s, LedgerAccount, invoice.account_ref, lock=False)
        if account.currency != invoice.currency:
            raise ProviderRejected(self.name, "currency_mismatch", "not the account's currency")
        if invoice.subscription_ref is None:
            return
        subscription = await ledger.find(
            s, LedgerSubscription, invoice.subscription_ref, lock=False
        )
        if subscription.account_ref != account.ref:
            raise checks.invalid("the subscription belongs to another account")

    async def _once(
        self, operation: str, key: str, request: Any, kind: type[R], work: idem.Work[R]
    ) -> R:
        return await idem.run_once(self._sessions, operation, key, request, kind, work)


def _require_active(row: LedgerSubscription) -> None:
    if row.status != SubscriptionStatus.ACTIVE:
        raise ProviderRejected("local", "subscription_not_active", f"subscription is {row.status}")


def _set_renewing(row: LedgerSubscription, renewing: bool) -> None:
    status = SubscriptionStatus.ACTIVE if renewing else SubscriptionStatus.CANCELLED
    if row.status != status:
        row.status, row.auto_renew = status.value, renewing
        row.version += 1


def _items_request(items: Sequence[SubscriptionItem]) -> dict[str, Any]:
    return {"items": ledger.items_json(items)}


def _term_request(
    ref: str, term_start: date, term_end: date, items: Sequence[SubscriptionItem]
) -> dict[str, Any]:
    terms = {"ref": ref, "term_start": term_start.isoformat(), "term_end": term_end.isoformat()}
    return {**terms, **_items_request(items)}
