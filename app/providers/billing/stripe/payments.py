"""Payments are the Charges of an invoice's PaymentIntents; refunds are Stripe Refunds.

collect_payment pays the OPEN invoice with the payment method named: the customer's default
one when it is that id or the token it was attached from, else that method is attached first.
A decline (402 card_error) is a FAILED PaymentRecord whose ref is the failed charge and whose
failure_code is the decline code (or the error code), never an exception; Stripe stores that
answer under the key, so a replay gets the same record. get_invoice_payments lists the
charges of each invoice's PaymentIntents (via InvoicePayments), oldest first.
"""

from __future__ import annotations

from collections.abc import Awaitable, Mapping, Sequence
from typing import Any

import stripe
from stripe import ListObject
from stripe.params import ChargeListParams

from app.providers.billing.records import PaymentRecord, PaymentStatus, RefundRecord
from app.providers.billing.stripe import accounts, checks, invoices, keys, mapping
from app.providers.billing.stripe.client import StripeApi, rest_of
from app.providers.billing.stripe.errors import PROVIDER
from app.providers.errors import ProviderRejected, ProviderUnavailable


async def collect_payment(
    api: StripeApi, invoice_ref: str, payment_method: str, key: str
) -> PaymentRecord:
    checks.payment_method(payment_method)
    request = {"invoice_ref": invoice_ref, "payment_method": payment_method}
    before = await invoices.claim(api, invoice_ref, "collect_payment", request, key, expand=True)
    if before["status"] != "open":
        status = mapping.invoice(before, []).status
        raise ProviderRejected(PROVIDER, "invoice_not_open", f"invoice is {status}")
    customer = before["customer"]
    method = accounts.charged_method(customer, payment_method) or await accounts.attach(
        api, customer["id"], payment_method, key
    )

    async def pay() -> stripe.Invoice | stripe.CardError:
        try:
            return await api.client.v1.invoices.pay_async(
                invoice_ref, {"payment_method": method}, options=keys.step(key, "pay")
            )
        except stripe.CardError as declined:
            return declined

    paid = await api.call(pay)
    if isinstance(paid, stripe.CardError):
        return _declined(before, paid)
    succeeded = [c for c in await charges_of(api, invoice_ref) if c["status"] == "succeeded"]
    if not succeeded:
        raise ProviderUnavailable(PROVIDER, f"invoice {invoice_ref} paid, but no charge found")
    return mapping.payment(succeeded[-1], invoice_ref)


async def get_invoice_payments(
    api: StripeApi, invoice_refs: Sequence[str]
) -> Mapping[str, tuple[PaymentRecord, ...]]:
    async def read(ref: str) -> tuple[PaymentRecord, ...]:
        charges = await charges_of(api, ref)
        if not charges:
            await invoices.invoice_of(api, ref)  # ProviderNotFound: an unknown ref is omitted
        return tuple(mapping.payment(charge, ref) for charge in charges)

    return await api.read_each(invoice_refs, read)


async def charges_of(api: StripeApi, invoice_ref: str) -> list[dict[str, Any]]:
    """Every charge attempted on the invoice, oldest first."""
    listed = await api.call(
        lambda: api.client.v1.invoice_payments.list_async({"invoice": invoice_ref, "limit": 100})
    )
    intents = [
        payment["payment"]["payment_intent"]
        for payment in listed.to_dict()["data"]
        if payment["payment"].get("type") == "payment_intent"
    ]
    charges: list[dict[str, Any]] = []
    for intent in intents:
        charges += reversed(await _charges_of_intent(api, mapping.ref_of(intent)))
    return sorted(charges, key=lambda charge: int(charge["created"]))


async def _charges_of_intent(api: StripeApi, intent: str) -> list[dict[str, Any]]:
    """Newest first, as Stripe lists them."""

    def page(last: str | None) -> Awaitable[ListObject[stripe.Charge]]:
        params: ChargeListParams = {"payment_intent": intent, "limit": 100}
        if last is not None:
            params["starting_after"] = last
        return api.client.v1.charges.list_async(params)

    first = await api.call(lambda: page(None))
    return await rest_of(api, first.to_dict(), page)


async def refund_payment(api: StripeApi, payment_ref: str, amount: int, key: str) -> RefundRecord:
    checks.refund_amount(amount)
    keys.check_key(key)
    digest = keys.digest("refund_payment", {"payment_ref": payment_ref, "amount": amount})
    claimed = await api.call(
        lambda: api.client.v1.charges.update_async(
            payment_ref, {"metadata": {keys.DIGEST: digest}}, options=keys.claim(key)
        )
    )
    charge = claimed.to_dict()
    if charge["status"] != "succeeded":
        raise ProviderRejected(PROVIDER, "payment_not_refundable", "it did not succeed")
    if amount > int(charge["amount"]) - int(charge.get("amount_refunded") or 0):
        raise ProviderRejected(PROVIDER, "refund_exceeds_payment", "more than is left")
    invoice_ref = await _invoice_of(api, charge)
    refund = await api.call(
        lambda: api.client.v1.refunds.create_async(
            {"charge": payment_ref, "amount": amount, "metadata": {"invoice": invoice_ref}},
            options=keys.step(key, "refund"),
        )
    )
    return mapping.refund(refund.to_dict(), invoice_ref)


async def _invoice_of(api: StripeApi, charge: Mapping[str, Any]) -> str:
    intent = mapping.ref_of(charge["payment_intent"])
    listed = await api.call(
        lambda: api.client.v1.invoice_payments.list_async(
            {"payment": {"type": "payment_intent", "payment_intent": intent}, "limit": 1}
        )
    )
    found = listed.to_dict()["data"]
    if not found:
        raise checks.invalid(f"charge {charge['id']} belongs to no invoice")
    return mapping.ref_of(found[0]["invoice"])


def _declined(invoice: Mapping[str, Any], declined: stripe.CardError) -> PaymentRecord:
    detail = declined.error
    charge = detail.charge if detail is not None else None
    intent = detail.payment_intent if detail is not None else None
    code = (detail.decline_code or detail.code) if detail is not None else declined.code
    # A card error on paying names the failed charge; the PaymentIntent is a fallback ref.
    return PaymentRecord(
        ref=charge or (intent.id if intent is not None else str(invoice["id"])),
        invoice_ref=str(invoice["id"]),
        amount=int(invoice["amount_remaining"]),
        currency=str(invoice["currency"]).upper(),
        status=PaymentStatus.FAILED.value,
        failure_code=code or "card_declined",
    )
