"""Catalog product codes -> Stripe Products and Prices.

One Product per product code, with the id f"fulfillment_{code}". A Price is fixed in Stripe,
so there is one per (code, currency, unit amount): a yearly recurring price (a term is 12
months) with the lookup_key f"{code}:{currency}:{unit_amount}:year", found by that key before
one is created. These writes are keyed by what they create (f"catalog:price:{lookup_key}"),
not by a caller's key: any caller that needs the same price makes the same request.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from functools import partial

import stripe
from stripe.params import PriceListParams

from app.providers.billing.records import SubscriptionItem
from app.providers.billing.stripe import checks
from app.providers.billing.stripe.client import StripeApi

_LOOKUP_BATCH = 10  # Stripe's limit of lookup_keys per list request


def product_id(code: str) -> str:
    return f"fulfillment_{code}"


def lookup_key(code: str, currency: str, unit_amount: int) -> str:
    return f"{code}:{currency.lower()}:{unit_amount}:year"


async def prices_for(
    api: StripeApi, currency: str, items: Sequence[SubscriptionItem]
) -> Mapping[str, str]:
    """Product code -> the id of its price in `currency` at the item's unit amount."""
    wanted = {
        item.product_code: lookup_key(item.product_code, currency, item.unit_amount)
        for item in items
    }
    found = await _lookup(api, wanted.values())
    for item in items:
        key = wanted[item.product_code]
        if key not in found:
            found[key] = await _create_price(api, item, currency, key)
    return {code: found[key] for code, key in wanted.items()}


async def _lookup(api: StripeApi, lookup_keys: Iterable[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    distinct = list(dict.fromkeys(lookup_keys))
    for start in range(0, len(distinct), _LOOKUP_BATCH):
        batch = distinct[start : start + _LOOKUP_BATCH]
        params: PriceListParams = {"lookup_keys": batch, "active": True, "limit": 100}
        listed = await api.call(partial(api.client.v1.prices.list_async, params))
        found.update({price.lookup_key: price.id for price in listed.data if price.lookup_key})
    return found


async def _create_price(api: StripeApi, item: SubscriptionItem, currency: str, key: str) -> str:
    await _ensure_product(api, item.product_code)

    async def create() -> str | None:
        try:
            price = await api.client.v1.prices.create_async(
                {
                    "product": product_id(item.product_code),
                    "currency": currency.lower(),
                    "unit_amount": item.unit_amount,
                    "recurring": {"interval": "year"},
                    "lookup_key": key,
                    "metadata": {"product_code": item.product_code},
                },
                options={"idempotency_key": f"catalog:price:{key}"},
            )
        except stripe.InvalidRequestError as error:
            if error.param != "lookup_key":
                raise
            return None  # another caller made it first (lookup keys are unique): look again
        return price.id

    created = await api.call(create)
    if created is not None:
        return created
    again = await _lookup(api, [key])
    if key not in again:  # the key is taken by an inactive price
        raise checks.invalid(f"lookup key {key!r} belongs to an archived price")
    return again[key]


async def _ensure_product(api: StripeApi, code: str) -> None:
    async def create() -> None:
        try:
            await api.client.v1.products.create_async(
                {"id": product_id(code), "name": code, "metadata": {"product_code": code}},
                options={"idempotency_key": f"catalog:product:{code}"},
            )
        except stripe.InvalidRequestError as error:
            if error.code != "resource_already_exists":
                raise

    await api.call(create)
