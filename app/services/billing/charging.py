"""Charging a local invoice through the billing provider.

The provider's invoice is issued once per key (`issue`) and collected once per key and
attempt (`collect`); a resumed run sends the same keys and the provider replays its first
answers, so nothing is charged twice. A declined card is an outcome (`Charged`), not an
error; provider errors propagate (unavailable: the caller retries later with the same keys),
but an invoice the provider has collected already (a resumed attempt whose card was
changed or removed meanwhile) is paid by that payment, whatever the collect says.

Orders compose `issue` and `collect_once` with their own keys (app/services/orders/execution.py,
storing the provider's invoice at once for settlement); the lifecycle jobs, and anything else
charging an invoice it wrote, call `charge`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from app.db.tables import BillingAccount, Invoice
from app.db.unit_of_work import unit_of_work
from app.domain.enums import PaymentStatus
from app.domain.pricing import QuoteLine
from app.providers.billing import BillingProvider, PaymentRecord
from app.providers.errors import ProviderRejected
from app.runtime import Runtime
from app.services.billing import keys
from app.services.billing.accounts import account_of, provider_account
from app.services.billing.invoices import lines_of, provider_invoice

NO_PAYMENT_METHOD = "no_payment_method"


@dataclass(frozen=True, slots=True)
class Charged:
    """The outcome of charging an invoice: paid (with the payment, None for a zero total),
    or declined with a failure code (and the failed payment, if one was attempted)."""

    paid: bool
    payment: PaymentRecord | None
    failure_code: str | None = None
    invoice_ref: str | None = None  # the provider's invoice, kept with the outcome

    @classmethod
    def of(cls, payment: PaymentRecord, invoice_ref: str) -> Charged:
        if succeeded(payment):
            return cls(True, payment, None, invoice_ref)
        return cls(False, payment, payment.failure_code or "declined", invoice_ref)


def succeeded(payment: PaymentRecord) -> bool:
    return payment.status == PaymentStatus.SUCCEEDED.value


async def issue(
    billing: BillingProvider,
    invoice: Invoice,
    account_ref: str,
    lines: Sequence[QuoteLine],
    *,
    due_on: date,
    key: str,
) -> str:
    """The provider's invoice for the local one (its ref): the same request under the same
    key on every attempt, so one whose answer was lost is replayed, not issued twice."""
    record = await billing.create_invoice(
        provider_invoice(invoice, account_ref, lines, due_on), idempotency_key=key
    )
    return record.ref


async def collect(
    billing: BillingProvider, invoice_ref: str, payment_method: str, *, key: str
) -> PaymentRecord:
    """Collect the provider invoice's open balance; a decline is a FAILED record."""
    return await billing.collect_payment(invoice_ref, payment_method, idempotency_key=key)


async def charge(runtime: Runtime, invoice_id: int, key: str, attempt: int) -> Charged:
    """Issue the invoice at the provider (once per `key`) and collect it (once per `key`
    and attempt). Provider errors propagate: unavailable is retried by a later claim."""
    loaded = await _load(runtime, invoice_id)
    if loaded.invoice.total == 0:
        return Charged(paid=True, payment=None)
    billing = runtime.providers.billing
    account_ref = await provider_account(runtime.sessions, billing, loaded.account)
    invoice_ref = await _issued(billing, loaded, account_ref, key)
    payment = await collect_once(
        billing,
        invoice_ref,
        loaded.account.payment_method,
        key=keys.charge_payment(key, attempt),
    )
    if payment is None:
        return Charged(False, None, NO_PAYMENT_METHOD, invoice_ref)
    return Charged.of(payment, invoice_ref)


async def collect_once(
    billing: BillingProvider, invoice_ref: str, payment_method: str | None, *, key: str
) -> PaymentRecord | None:
    """Collect under `key`, unless the provider collected the invoice already: an attempt
    whose answer was lost may have been paid, and its resumption now comes with another card
    (its key is refused with it), with none, or finds the invoice paid. That payment is the
    outcome, not a decline. None: no card and nothing collected; a refusal with nothing
    collected propagates."""
    if not payment_method:
        return await collected_payment(billing, invoice_ref)
    try:
        return await collect(billing, invoice_ref, payment_method, key=key)
    except ProviderRejected:
        paid = await collected_payment(billing, invoice_ref)
        if paid is None:
            raise
        return paid


async def collected_payment(billing: BillingProvider, invoice_ref: str) -> PaymentRecord | None:
    """The provider invoice's succeeded payment, if it has one."""
    payments = (await billing.get_invoice_payments([invoice_ref])).get(invoice_ref, ())
    return next((payment for payment in payments if succeeded(payment)), None)


async def issued_ref(runtime: Runtime, invoice_id: int, key: str) -> str | None:
    """The provider's invoice of a lifecycle charge under `key`, to void it: the stored ref,
    or the same request sent again (its lost answer replayed; if it was never issued, it is
    issued now, to be voided at once, as order settlement does). None: it never reached the
    provider (a zero total, or no paying account there yet)."""
    loaded = await _load(runtime, invoice_id)
    account_ref = loaded.account.provider_ref
    if loaded.invoice.total == 0 or not (loaded.invoice.provider_ref or account_ref):
        return None
    return await _issued(runtime.providers.billing, loaded, account_ref or "", key)


@dataclass(frozen=True, slots=True)
class _Loaded:
    invoice: Invoice
    account: BillingAccount
    lines: tuple[QuoteLine, ...]


async def _load(runtime: Runtime, invoice_id: int) -> _Loaded:
    async with unit_of_work(runtime.sessions, write=False) as session:
        invoice = await session.get(Invoice, invoice_id)
        assert invoice is not None
        return _Loaded(
            invoice, await account_of(session, invoice), await lines_of(session, invoice_id)
        )


async def _issued(billing: BillingProvider, loaded: _Loaded, account_ref: str, key: str) -> str:
    """The ref is stored with the outcome: a run resumed before then (on any day) sends the
    same request, due on the invoice's own due date, and gets the same invoice replayed."""
    invoice = loaded.invoice
    return invoice.provider_ref or await issue(
        billing,
        invoice,
        account_ref,
        loaded.lines,
        due_on=invoice.due_on,
        key=keys.charge_invoice(key),
    )
