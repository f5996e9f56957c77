"""Invoices are Zuora standalone invoices (`POST /v1/invoices`), issued Posted, with one item
per line as the caller computed it (amount, quantity, unit price, description, the product
code as the SKU, the service period): Zuora does no pricing of its own here. The ref is the
invoice number; the subscription it bills is kept in `SubscriptionNumber__c`.

The request carries the local invoice's own due date unchanged and no invoice date (Zuora
issues it today), so a retry on a later day sends the same body and replays; the fake, like
Zuora, moves a due date already past to the issue date.

Status: Canceled is VOID; Posted with a zero balance is PAID; else OPEN. Void is
`PUT /v1/invoices/{key}/cancel`; a void invoice is returned as it is, a paid one refused
("invoice_paid").
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

from app.providers.billing.records import InvoiceLineRecord, InvoiceRecord, NewInvoice
from app.providers.billing.zuora import accounts, checks, mapping, subscriptions
from app.providers.billing.zuora.client import Json, ZuoraApi
from app.providers.billing.zuora.errors import PROVIDER
from app.providers.errors import ProviderRejected


async def get_invoices(api: ZuoraApi, refs: Sequence[str]) -> Mapping[str, InvoiceRecord]:
    return await api.read_each(refs, lambda ref: read(api, ref))


async def read(api: ZuoraApi, ref: str) -> InvoiceRecord:
    found, items = await asyncio.gather(
        invoice_of(api, ref), api.get(f"/v1/invoices/{ref}/items", ref=ref)
    )
    return mapping.invoice(found, items.get("invoiceItems") or [])


async def invoice_of(api: ZuoraApi, ref: str) -> Json:
    return await api.get(f"/v1/invoices/{ref}", ref=ref)


async def create_invoice(api: ZuoraApi, invoice: NewInvoice, key: str) -> InvoiceRecord:
    checks.new_invoice(invoice)
    checks.key(key)
    account = await accounts.account_of(api, invoice.account_ref)
    if (account.get("billingAndPayment") or {}).get("currency") != invoice.currency:
        raise ProviderRejected(PROVIDER, "currency_mismatch", "not the account's currency")
    body: dict[str, Any] = {
        "accountNumber": invoice.account_ref,
        "dueDate": invoice.due_on.isoformat(),
        "status": "Posted",
        "invoiceItems": [_item(line, invoice.currency) for line in invoice.lines],
    }
    if invoice.subscription_ref is not None:
        subscription = await subscriptions.subscription_of(api, invoice.subscription_ref)
        if subscription.get("accountNumber") != invoice.account_ref:
            raise checks.invalid("the subscription belongs to another account")
        body[mapping.SUBSCRIPTION] = invoice.subscription_ref
    created = await api.post("/v1/invoices", body, key=key, ref=invoice.account_ref)
    return await read(api, str(created["invoiceNumber"]))


def _item(line: InvoiceLineRecord, currency: str) -> Json:
    item: Json = {
        "amount": mapping.major(line.amount, currency),
        "description": line.description,
        "quantity": line.quantity,
        "unitPrice": mapping.major(line.unit_amount, currency),
    }
    if line.product_code is not None:
        item["sku"] = line.product_code
    if line.period_start is not None:
        item["serviceStartDate"] = line.period_start.isoformat()
    if line.period_end is not None:
        item["serviceEndDate"] = mapping.last_day(line.period_end)
    return item


async def void_invoice(api: ZuoraApi, ref: str, key: str) -> InvoiceRecord:
    checks.key(key)
    found = await read(api, ref)
    if found.status == "VOID":
        return found
    if found.status == "PAID":
        raise ProviderRejected(PROVIDER, "invoice_paid", "refund its payment instead")
    await api.request("PUT", f"/v1/invoices/{ref}/cancel", body={}, key=key, ref=ref)
    return await read(api, ref)
