"""Loading what a list's items will ask for before graphql-core asks, in the same batches.

A field on each item of a list (`addOns` of every subscription, `lines` of every invoice)
loads through a DataLoader; the loader batches the keys of all items into one statement, but
graphql-core still awaits one coroutine, in one asyncio task, per item and field. Given what
the selection asks for (`Needs`, built by `schema.lookahead`), these functions load the same
keys through the same loaders once per list, so the item fields find their values ready and
answer synchronously (`loaders.now_or_later`). The statements are the ones the fields would
have caused: same loaders, same keys, one batch each.

Errors are left where they belong: a key whose load failed (a provider outage) fails again
in its own field, which reports it as before.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from app.db.pagination import PageRequest
from app.db.tables import AddOnPurchase, ConsumablePurchase, Invoice
from resolvers.context import RequestContext
from resolvers.subscriptions import SubscriptionView


@dataclass(frozen=True)
class InvoiceNeeds:
    lines: bool = False
    payments: bool = False
    customer: bool = False
    billing_account: bool = False


@dataclass(frozen=True)
class SubscriptionNeeds:
    """The edges selected on the items of a subscription list (Python field names)."""

    edges: frozenset[str] = frozenset()
    add_on_products: bool = False
    assigned_seats: bool = False
    consumable_products: bool = False
    invoice_pages: tuple[tuple[PageRequest, InvoiceNeeds], ...] = field(default=())


async def _settle(loads: Iterable[Awaitable[Any]]) -> list[Any]:
    """Awaits the loads (futures of one batch each); a failed key stays failed in its loader."""
    return await asyncio.gather(*loads, return_exceptions=True)


def _ok(values: Iterable[Any]) -> list[Any]:
    return [value for value in values if not isinstance(value, BaseException)]


async def for_subscriptions(
    ctx: RequestContext, views: Sequence[SubscriptionView], needs: SubscriptionNeeds
) -> None:
    if not views:
        return
    loaders = ctx.loaders
    rows = [view.row for view in views]
    ids = [row.id for row in rows]
    edges = needs.edges
    if "add_ons" in edges:
        add_ons: list[AddOnPurchase] = [
            a
            for found in _ok(await _settle(map(loaders.add_ons_by_subscription.load, ids)))
            for a in found
        ]
        if needs.assigned_seats:
            await _settle(loaders.assignment_count.load(a.id) for a in add_ons)  # type: ignore[arg-type]
        if needs.add_on_products:
            await _settle(loaders.product.load(a.product_id) for a in add_ons)
    if "consumables" in edges:
        packs: list[ConsumablePurchase] = [
            c
            for found in _ok(await _settle(map(loaders.consumables_by_subscription.load, ids)))
            for c in found
        ]
        if needs.consumable_products:
            await _settle(loaders.product.load(c.product_id) for c in packs)
    singles = {
        "license": (loaders.licenses_by_subscription, ids),
        "provisioning": (loaders.provisioning_message, ids),
        "customer": (loaders.customer, [row.customer_id for row in rows]),
        "deployment": (loaders.deployment, [row.deployment_id for row in rows]),
        "billing_account": (loaders.billing_account, [row.billing_account_id for row in rows]),
        "sold_by": (loaders.partner, [row.partner_id for row in rows if row.partner_id]),
        "pending_change": (loaders.product, [r.pending_plan_id for r in rows if r.pending_plan_id]),
        "actions": (loaders.plan_tier_bounds, [0]),
    }
    for name, (loader, keys) in singles.items():
        keys = [key for key in keys if key is not None]
        if name in edges and keys:
            await _settle(map(loader.load, keys))
    for request, invoice_needs in needs.invoice_pages:
        loader = loaders.invoice_pages_by_subscription
        pages = _ok(await _settle(loader.load((pk, request)) for pk in ids))
        await for_invoices(ctx, [row for page in pages for row in page.items], invoice_needs)


async def for_invoices(ctx: RequestContext, rows: Sequence[Invoice], needs: InvoiceNeeds) -> None:
    if not rows:
        return
    loaders = ctx.loaders
    ids = [row.id for row in rows]
    if needs.lines:
        await _settle(map(loaders.lines_by_invoice.load, ids))
    if needs.payments:
        await _settle(map(loaders.payments_by_invoice.load, ids))
    if needs.customer:
        await _settle(loaders.customer.load(row.customer_id) for row in rows)
    accounts = [row.billing_account_id for row in rows if row.billing_account_id is not None]
    if needs.billing_account and accounts:
        await _settle(map(loaders.billing_account.load, accounts))
