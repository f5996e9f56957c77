"""Giving an invoice's money back at the provider: void it while unpaid (nothing can be
collected on it afterwards), or refund its payment in full once paid. Order settlement
(app/services/orders/settlement.py) uses it for an order that fails once invoiced, with the
order's own keys, so a retry replays what the provider already did."""

from __future__ import annotations

from dataclasses import dataclass

from app.providers.billing import BillingProvider, PaymentRecord, RefundRecord
from app.providers.errors import ProviderRejected
from app.services.billing.charging import succeeded

INVOICE_PAID = "invoice_paid"


@dataclass(frozen=True, slots=True)
class Reversed:
    """Voided (no payment), or refunded (`payment` is the charge the provider had collected,
    `refund` what gave it back)."""

    payment: PaymentRecord | None = None
    refund: RefundRecord | None = None


async def void_or_refund(
    billing: BillingProvider, invoice_ref: str, *, void_key: str, refund_key: str
) -> Reversed:
    """Void the provider's invoice; if it was paid meanwhile, refund its payment in full.
    Provider errors propagate (the caller retries with the same keys)."""
    try:
        await billing.void_invoice(invoice_ref, idempotency_key=void_key)
        return Reversed()
    except ProviderRejected as error:
        if error.code != INVOICE_PAID:
            raise
    payment = await _collected(billing, invoice_ref)
    refund = await billing.refund_payment(payment.ref, payment.amount, idempotency_key=refund_key)
    return Reversed(payment, refund)


async def _collected(billing: BillingProvider, invoice_ref: str) -> PaymentRecord:
    payments = (await billing.get_invoice_payments([invoice_ref])).get(invoice_ref, ())
    for payment in payments:
        if succeeded(payment):
            return payment
    raise RuntimeError(f"invoice {invoice_ref} is paid but has no succeeded payment")
