"""Subscriptions: a Stripe Subscription per term, with one item per product code and its
quantity, and the term in metadata (term_start, term_end; ISO dates).

The app prices and charges through its own one-off invoices, so the Stripe subscription never
charges on its own: it is created with billing_cycle_anchor at the term end and
proration_behavior "none" (the time up to the anchor is free: no charge now), and then its
collection is paused with behavior "void", so the invoice Stripe makes at each anchor (the
renewal) is voided at once. Every create and update passes proration_behavior "none",
except the metadata-only claims (keys.py), which cannot prorate (and which Stripe takes
even on a subscription that has ended).

A term that has already ended is refused (Stripe's anchor must lie ahead). Cancel sets
cancel_at_period_end (the period ends at the anchor, the term end); reactivate
clears it. The record is ACTIVE with auto_renew while cancel_at_period_end is false and the
subscription has not ended, else CANCELLED.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict
from datetime import date
from typing import Any

from stripe.params import SubscriptionUpdateParamsItem

from app.clock import Clock
from app.providers.billing.records import BillingSubscriptionRecord, SubscriptionItem
from app.providers.billing.stripe import accounts, catalog, checks, keys, mapping
from app.providers.billing.stripe.client import StripeApi, rest_of
from app.providers.billing.stripe.errors import PROVIDER
from app.providers.errors import ProviderRejected


async def get_subscriptions(
    api: StripeApi, refs: Sequence[str]
) -> Mapping[str, BillingSubscriptionRecord]:
    async def read(ref: str) -> BillingSubscriptionRecord:
        found = await api.call(lambda: api.client.v1.subscriptions.retrieve_async(ref))
        return await _record(api, found.to_dict())

    return await api.read_each(refs, read)


async def create_subscription(
    api: StripeApi,
    clock: Clock,
    account_ref: str,
    term_start: date,
    term_end: date,
    items: Sequence[SubscriptionItem],
    key: str,
) -> BillingSubscriptionRecord:
    checks.term(term_start, term_end)
    if term_end <= clock.today():
        # Stripe takes only a future billing_cycle_anchor: a term already over has none.
        raise checks.invalid("the term has ended: Stripe cannot anchor a subscription to it")
    checked = checks.items(items)
    keys.check_key(key)
    customer = await accounts.customer_of(api, account_ref)
    currency = mapping.metadata(customer).get("currency", "")
    prices = await catalog.prices_for(api, currency, checked)
    digest = keys.digest("create_subscription", _term(account_ref, term_start, term_end, checked))
    created = await api.call(
        lambda: api.client.v1.subscriptions.create_async(
            {
                "customer": account_ref,
                "items": [
                    {"price": prices[item.product_code], "quantity": item.quantity}
                    for item in checked
                ],
                "billing_cycle_anchor": mapping.timestamp(term_end),
                "proration_behavior": "none",
                "metadata": {
                    **_term_metadata(term_start, term_end, checked),
                    keys.DIGEST: digest,
                },
            },
            options=keys.claim(key),
        )
    )
    paused = await api.call(
        lambda: api.client.v1.subscriptions.update_async(
            created.id,
            {"pause_collection": {"behavior": "void"}, "proration_behavior": "none"},
            options=keys.step(key, "pause"),
        )
    )
    return await _record(api, paused.to_dict())


async def amend_subscription(
    api: StripeApi, ref: str, items: Sequence[SubscriptionItem], effective: date, key: str
) -> BillingSubscriptionRecord:
    checked = checks.items(items)
    request = {"ref": ref, "effective": effective.isoformat(), "items": _items(checked)}
    before = await _claim(api, ref, "amend_subscription", request, key)
    term_start, term_end = _term_of(before)
    if not term_start <= effective < term_end:
        raise checks.invalid("effective date is outside the current term")
    return await _replace_items(api, before, checked, {}, keys.step(key, "items"))


async def renew_subscription(
    api: StripeApi,
    ref: str,
    term_start: date,
    term_end: date,
    items: Sequence[SubscriptionItem],
    key: str,
) -> BillingSubscriptionRecord:
    checks.term(term_start, term_end)
    checked = checks.items(items)
    before = await _claim(
        api, ref, "renew_subscription", _term(ref, term_start, term_end, checked), key
    )
    if not mapping.subscription(before, []).auto_renew:
        raise ProviderRejected(PROVIDER, "subscription_not_active", "auto-renew is off")
    if term_start != _term_of(before)[1]:
        raise checks.invalid("a renewal term starts where the current term ends")
    terms = {"term_start": term_start.isoformat(), "term_end": term_end.isoformat()}
    return await _replace_items(api, before, checked, terms, keys.step(key, "renew"))


async def cancel_subscription(api: StripeApi, ref: str, key: str) -> BillingSubscriptionRecord:
    keys.check_key(key)
    digest = keys.digest("cancel_subscription", {"ref": ref})
    updated = await api.call(
        lambda: api.client.v1.subscriptions.update_async(
            ref,
            {
                "cancel_at_period_end": True,
                "proration_behavior": "none",
                "metadata": {keys.DIGEST: digest},
            },
            options=keys.claim(key),
        )
    )
    return await _record(api, updated.to_dict())


async def reactivate_subscription(
    api: StripeApi, clock: Clock, ref: str, key: str
) -> BillingSubscriptionRecord:
    before = await _claim(api, ref, "reactivate_subscription", {"ref": ref}, key)
    if before.get("status") == "canceled" or clock.today() >= _term_of(before)[1]:
        raise ProviderRejected(PROVIDER, "subscription_ended", "the term has ended")
    updated = await api.call(
        lambda: api.client.v1.subscriptions.update_async(
            ref,
            {"cancel_at_period_end": False, "proration_behavior": "none"},
            options=keys.step(key, "reactivate"),
        )
    )
    return await _record(api, updated.to_dict())


async def _claim(
    api: StripeApi, ref: str, operation: str, request: Any, key: str
) -> dict[str, Any]:
    """The subscription as it was when `key` was first used (keys.py)."""
    keys.check_key(key)
    digest = keys.digest(operation, request)
    claimed = await api.call(
        lambda: api.client.v1.subscriptions.update_async(
            ref, {"metadata": {keys.DIGEST: digest}}, options=keys.claim(key)
        )
    )
    return claimed.to_dict()


async def _replace_items(
    api: StripeApi,
    before: Mapping[str, Any],
    items: Sequence[SubscriptionItem],
    metadata: Mapping[str, str],
    options: Any,
) -> BillingSubscriptionRecord:
    """Make `items` the subscription's whole set: an item of the same product code is updated
    in place, a new one added, one no longer wanted deleted; nothing is prorated."""
    current = {mapping.price_code(item["price"]): item for item in await _items_of(api, before)}
    prices = await catalog.prices_for(api, str(before["currency"]), items)
    changes: list[SubscriptionUpdateParamsItem] = []
    for item in items:
        change: SubscriptionUpdateParamsItem = {
            "price": prices[item.product_code],
            "quantity": item.quantity,
        }
        if item.product_code in current:
            change["id"] = current[item.product_code]["id"]
        changes.append(change)
    wanted = {item.product_code for item in items}
    changes += [
        {"id": item["id"], "deleted": True} for code, item in current.items() if code not in wanted
    ]
    order = mapping.item_order([item.product_code for item in items])
    updated = await api.call(
        lambda: api.client.v1.subscriptions.update_async(
            str(before["id"]),
            {
                "items": changes,
                "proration_behavior": "none",
                "metadata": {**metadata, "item_order": order},
            },
            options=options,
        )
    )
    return await _record(api, updated.to_dict())


async def _record(api: StripeApi, sub: Mapping[str, Any]) -> BillingSubscriptionRecord:
    return mapping.subscription(sub, await _items_of(api, sub))


async def _items_of(api: StripeApi, sub: Mapping[str, Any]) -> list[dict[str, Any]]:
    return await rest_of(
        api,
        sub["items"],
        lambda last: api.client.v1.subscription_items.list_async(
            {"subscription": str(sub["id"]), "limit": 100, "starting_after": last}
        ),
    )


def _term_of(sub: Mapping[str, Any]) -> tuple[date, date]:
    record = mapping.subscription(sub, [])
    return record.term_start, record.term_end


def _items(items: Sequence[SubscriptionItem]) -> list[dict[str, Any]]:
    return [asdict(item) for item in items]


def _term(ref: str, term_start: date, term_end: date, items: Sequence[SubscriptionItem]) -> Any:
    return {
        "ref": ref,
        "term_start": term_start.isoformat(),
        "term_end": term_end.isoformat(),
        "items": _items(items),
    }


def _term_metadata(
    term_start: date, term_end: date, items: Sequence[SubscriptionItem]
) -> dict[str, str]:
    return {
        "term_start": term_start.isoformat(),
        "term_end": term_end.isoformat(),
        "item_order": mapping.item_order([item.product_code for item in items]),
    }
