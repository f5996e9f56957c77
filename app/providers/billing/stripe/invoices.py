"""Invoices: one-off Stripe Invoices built from the caller's lines, never from Stripe pricing.

create_invoice makes a draft (auto_advance false, pending_invoice_items_behavior "exclude",
so no stray pending item joins it), one invoice item per line (its `amount` as given, which
may be negative for a credit, with the description and period; quantity, unit amount and
product code in metadata), then finalizes it: Stripe's total is the sum of the lines, and an
invoice whose total is 0 comes out of finalization paid. The subscription ref and due date
are metadata: the invoice is not tied to the Stripe subscription, whose own invoices are
voided (subscriptions.py), and charge_automatically invoices have no due date in Stripe.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict
from functools import partial
from typing import Any

from stripe.params import InvoiceItemCreateParams

from app.clock import Clock
from app.providers.billing.records import InvoiceLineRecord, InvoiceRecord, NewInvoice
from app.providers.billing.stripe import accounts, checks, keys, mapping
from app.providers.billing.stripe.client import StripeApi, rest_of
from app.providers.billing.stripe.errors import PROVIDER
from app.providers.errors import ProviderRejected


async def get_invoices(api: StripeApi, refs: Sequence[str]) -> Mapping[str, InvoiceRecord]:
    async def read(ref: str) -> InvoiceRecord:
        return await record(api, await invoice_of(api, ref))

    return await api.read_each(refs, read)


async def invoice_of(api: StripeApi, ref: str) -> dict[str, Any]:
    found = await api.call(lambda: api.client.v1.invoices.retrieve_async(ref))
    return found.to_dict()


async def record(api: StripeApi, inv: Mapping[str, Any]) -> InvoiceRecord:
    lines = await rest_of(
        api,
        inv["lines"],
        lambda last: api.client.v1.invoices.line_items.list_async(
            str(inv["id"]), {"limit": 100, "starting_after": last}
        ),
    )
    return mapping.invoice(inv, lines)


async def create_invoice(
    api: StripeApi, clock: Clock, invoice: NewInvoice, key: str
) -> InvoiceRecord:
    checks.new_invoice(invoice)
    keys.check_key(key)
    await _check_owner(api, invoice)
    digest = keys.digest("create_invoice", asdict(invoice))
    meta = {keys.DIGEST: digest, "due_on": invoice.due_on.isoformat()}
    if invoice.subscription_ref is not None:
        meta["subscription_ref"] = invoice.subscription_ref
    draft = await api.call(
        lambda: api.client.v1.invoices.create_async(
            {
                "customer": invoice.account_ref,
                "currency": invoice.currency.lower(),
                "auto_advance": False,
                "collection_method": "charge_automatically",
                "pending_invoice_items_behavior": "exclude",
                "metadata": meta,
            },
            options=keys.claim(key),
        )
    )
    for n, line in enumerate(invoice.lines):
        create = partial(
            api.client.v1.invoice_items.create_async,
            _item(invoice, draft.id, n, line),
            options=keys.step(key, f"item:{n}"),
        )
        await api.call(create)
    finalized = await api.call(
        lambda: api.client.v1.invoices.finalize_invoice_async(
            draft.id, {"auto_advance": False}, options=keys.step(key, "finalize")
        )
    )
    return await record(api, finalized.to_dict())


async def void_invoice(api: StripeApi, ref: str, key: str) -> InvoiceRecord:
    before = await claim(api, ref, "void_invoice", {"invoice_ref": ref}, key)
    if before["status"] == "paid":
        raise ProviderRejected(PROVIDER, "invoice_paid", "refund its payment instead")
    if before["status"] == "void":
        return await record(api, before)
    voided = await api.call(
        lambda: api.client.v1.invoices.void_invoice_async(ref, options=keys.step(key, "void"))
    )
    return await record(api, voided.to_dict())


async def claim(
    api: StripeApi, ref: str, operation: str, request: Any, key: str, *, expand: bool = False
) -> dict[str, Any]:
    """The invoice as it was when `key` was first used (keys.py); `expand`: with its
    customer."""
    keys.check_key(key)
    digest = keys.digest(operation, request)
    claimed = await api.call(
        lambda: api.client.v1.invoices.update_async(
            ref,
            {"metadata": {keys.DIGEST: digest}, "expand": ["customer"] if expand else []},
            options=keys.claim(key),
        )
    )
    return claimed.to_dict()


async def _check_owner(api: StripeApi, invoice: NewInvoice) -> None:
    """The account exists in the invoice's currency, and owns the subscription named."""
    customer = await accounts.customer_of(api, invoice.account_ref)
    if mapping.metadata(customer).get("currency") != invoice.currency:
        raise ProviderRejected(PROVIDER, "currency_mismatch", "not the account's currency")
    if invoice.subscription_ref is None:
        return
    ref = invoice.subscription_ref
    sub = await api.call(lambda: api.client.v1.subscriptions.retrieve_async(ref))
    if mapping.ref_of(sub.customer) != invoice.account_ref:
        raise checks.invalid("the subscription belongs to another account")


def _item(
    invoice: NewInvoice, invoice_ref: str, n: int, line: InvoiceLineRecord
) -> InvoiceItemCreateParams:
    params: InvoiceItemCreateParams = {
        "customer": invoice.account_ref,
        "invoice": invoice_ref,
        "currency": invoice.currency.lower(),
        "amount": line.amount,
        "description": line.description,
        "metadata": mapping.line_metadata(n, line),
    }
    if line.period_start is not None and line.period_end is not None:
        params["period"] = {
            "start": mapping.timestamp(line.period_start),
            "end": mapping.timestamp(line.period_end),
        }
    return params
