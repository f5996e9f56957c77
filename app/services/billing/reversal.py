"""Giving an invoice's money back at the provider: void it while unpaid (nothing can be
collected on it afterwards), or refund its payment in full once paid. Order settlement
(app/services/orders/settlement.py) uses it for an order that fails once invoiced, and
a lapsed renewal's invoice (app/services/lifecycle/lapsed.py), each with its own
keys, so a retry replays what the provider already did.

One case is neither: the provider says the invoice is PAID but holds no succeeded payment on
it (paid out of band, by a credit, or by hand at the provider). There is nothing to refund,
and it can no longer be voided; retrying cannot change that, and guessing could give money
back twice (it may have been settled out of band too). The outcome says so
(`Outcome.PAID_WITHOUT_PAYMENT`): the caller records the invoice PAID, as the provider has
it, marks it for review and stops; staff settle it with the customer.

Staff give money back through the same two calls (app/services/payments/credit_notes.py and
invoice_void.py): `refund` gives back part or all of one payment, `void` voids an open
invoice only (a paid one is refused with "invoice_paid", never refunded instead)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from app.providers.billing import BillingProvider, InvoiceRecord, PaymentRecord, RefundRecord
from app.providers.errors import ProviderRejected
from app.runtime import Runtime
from app.services.billing import keys
from app.services.billing.charging import collected_payment, issued_ref

INVOICE_PAID = "invoice_paid"


class Outcome(Enum):
    VOIDED = "voided"
    REFUNDED = "refunded"
    PAID_WITHOUT_PAYMENT = "paid_without_payment"  # nothing given back: for staff to review


@dataclass(frozen=True, slots=True)
class Reversed:
    """Voided (no payment), refunded (`payment` is the charge the provider had collected,
    `refund` what gave it back), or paid without a payment to refund."""

    outcome: Outcome = Outcome.VOIDED
    payment: PaymentRecord | None = None
    refund: RefundRecord | None = None


async def void_or_refund(
    billing: BillingProvider, invoice_ref: str, *, void_key: str, refund_key: str
) -> Reversed:
    """Void the provider's invoice; if it was paid meanwhile, refund its payment in full.
    Provider errors propagate (the caller retries with the same keys)."""
    try:
        await void(billing, invoice_ref, key=void_key)
        return Reversed()
    except ProviderRejected as error:
        if error.code != INVOICE_PAID:
            raise
    payment = await collected_payment(billing, invoice_ref)
    if payment is None:
        return Reversed(Outcome.PAID_WITHOUT_PAYMENT)
    given = await refund(billing, payment.ref, payment.amount, key=refund_key)
    return Reversed(Outcome.REFUNDED, payment, given)


async def void(billing: BillingProvider, invoice_ref: str, *, key: str) -> InvoiceRecord:
    """Void the provider's open invoice (a VOID one is returned as it is); a PAID one is
    refused with `ProviderRejected(code="invoice_paid")`."""
    return await billing.void_invoice(invoice_ref, idempotency_key=key)


async def refund(
    billing: BillingProvider, payment_ref: str, amount: int, *, key: str
) -> RefundRecord:
    """Give back `amount` of a succeeded payment (in full or in part), once per key."""
    return await billing.refund_payment(payment_ref, amount, idempotency_key=key)


async def reverse_charge(runtime: Runtime, invoice_id: int, charge: str) -> Reversed:
    """Void (or refund) a lifecycle charge's invoice at the provider, keyed under the charge
    (`<charge>:void`, `<charge>:refund`); one that never reached the provider is VOIDED as it
    is. Run with no transaction open; provider errors propagate (retried, same keys)."""
    ref = await issued_ref(runtime, invoice_id, charge)
    if ref is None:
        return Reversed()
    return await void_or_refund(
        runtime.providers.billing,
        ref,
        void_key=keys.charge_void(charge),
        refund_key=keys.charge_refund(charge),
    )
