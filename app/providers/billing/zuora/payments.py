"""Payments: `POST /v1/payments`, an Electronic payment applied to the invoice, from a
payment method of the account: its default when the caller's token is the default's, else
one created for the token first (not made the default). The ref is the payment number; the
invoice it pays is kept in `InvoiceNumber__c` (a declined payment is applied to nothing).

The amount is the invoice's total, not its balance, so a retry after the first request
succeeded sends the same body and replays (an OPEN invoice's balance is its total: nothing
pays part of one). A gateway decline is a payment in status Error with the gateway's
response code: a FAILED record, not an error. A payment refused for the invoice's state
(category 30: paid or cancelled) is "invoice_not_open".

Refunds: `POST /v1/payments/{key}/refunds` (Electronic, `totalAmount`); a payment that did
not succeed is "payment_not_refundable", more than is left "refund_exceeds_payment".
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence

from app.providers.billing.records import PaymentRecord, RefundRecord
from app.providers.billing.zuora import accounts, checks, invoices, mapping
from app.providers.billing.zuora.client import Json, ZuoraApi
from app.providers.billing.zuora.errors import PROVIDER
from app.providers.errors import ProviderRejected


async def collect_payment(
    api: ZuoraApi, invoice_ref: str, payment_method: str, key: str
) -> PaymentRecord:
    checks.payment_method(payment_method)
    checks.key(key)
    invoice = await invoices.invoice_of(api, invoice_ref)
    account = await accounts.account_of(api, str(invoice["accountNumber"]))
    method_id = await _method_for(api, account, payment_method, key)
    currency = str(invoice["currency"])
    total = mapping.minor(invoice.get("amount"), currency)
    body = {
        "accountId": (account.get("basicInfo") or {}).get("id"),
        "amount": mapping.major(total, currency),
        "currency": currency,
        "type": "Electronic",
        "paymentMethodId": method_id,
        "invoices": [{"invoiceId": invoice["id"], "amount": mapping.major(total, currency)}],
        mapping.INVOICE: invoice_ref,
    }
    created = await api.post(
        "/v1/payments", body, key=key, ref=invoice_ref, refusals={"30": "invoice_not_open"}
    )
    return mapping.payment(created)


async def _method_for(api: ZuoraApi, account: Json, token: str, key: str) -> str:
    basic = account.get("basicInfo") or {}
    if await accounts.default_token(api, account) == token:
        return str(basic["defaultPaymentMethodId"])
    created = await api.post(
        "/v1/payment-methods",
        {"accountKey": basic["accountNumber"], **accounts.card(token), "makeDefault": False},
        key=f"{key}:pm",
        refusals=accounts.CARD_REFUSALS,
    )
    return str(created["id"])


async def get_invoice_payments(
    api: ZuoraApi, invoice_refs: Sequence[str]
) -> Mapping[str, tuple[PaymentRecord, ...]]:
    """The invoices' accounts' payments (one list per account), grouped by invoice."""
    found = await api.read_each(invoice_refs, lambda ref: invoices.invoice_of(api, ref))
    numbers = {str(invoice["accountNumber"]) for invoice in found.values()}
    listed = await asyncio.gather(
        *(api.get(f"/v1/transactions/payments/accounts/{number}") for number in sorted(numbers))
    )
    grouped: dict[str, tuple[PaymentRecord, ...]] = {ref: () for ref in found}
    for answer in listed:
        for payment in answer.get("payments") or []:
            record = mapping.payment(payment)
            if record.invoice_ref in grouped:
                grouped[record.invoice_ref] += (record,)
    return grouped


async def refund_payment(api: ZuoraApi, payment_ref: str, amount: int, key: str) -> RefundRecord:
    checks.refund_amount(amount)
    checks.key(key)
    paid = mapping.payment(await api.get(f"/v1/payments/{payment_ref}", ref=payment_ref))
    if paid.status != "SUCCEEDED":
        raise ProviderRejected(PROVIDER, "payment_not_refundable", "it did not succeed")
    created = await api.post(
        f"/v1/payments/{payment_ref}/refunds",
        {"totalAmount": mapping.major(amount, paid.currency), "type": "Electronic"},
        key=key,
        ref=payment_ref,
        refusals={"30": "refund_exceeds_payment"},
    )
    return mapping.refund(created, paid)
