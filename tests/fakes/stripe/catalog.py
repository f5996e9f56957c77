"""Products (with ids of the caller's choosing) and Prices (found by lookup_key)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tests.fakes.stripe.store import (
    Obj,
    expand,
    flag,
    integer,
    invalid,
    merge_metadata,
    page,
    refused,
)

if TYPE_CHECKING:
    from tests.fakes.stripe.server import Call, Router


def register(router: Router) -> None:
    router.post("/v1/products", create_product)
    router.get("/v1/products/{id}", retrieve_product)
    router.post("/v1/prices", create_price)
    router.get("/v1/prices", list_prices)
    router.get("/v1/prices/{id}", retrieve_price)


def create_product(call: Call) -> Obj:
    p = call.params
    if not p.get("name"):
        raise invalid("Missing required param: name.", "name", "parameter_missing")
    ref = p.get("id") or call.store.new_id("prod")
    if ref in call.store.objects:
        raise refused(f"Product already exists: '{ref}'", "resource_already_exists", "id")
    now = call.store.now()
    product = call.store.add(
        {
            "id": ref,
            "object": "product",
            "active": True,
            "created": now,
            "default_price": None,
            "description": p.get("description"),
            "images": [],
            "livemode": False,
            "marketing_features": [],
            "metadata": {},
            "name": p["name"],
            "package_dimensions": None,
            "shippable": None,
            "statement_descriptor": None,
            "tax_code": None,
            "type": "service",
            "unit_label": None,
            "updated": now,
            "url": None,
        }
    )
    merge_metadata(product, p.get("metadata"))
    call.store.emit("product.created", product)
    return product


def retrieve_product(call: Call) -> Obj:
    return call.store.get("product", call.ids["id"], object="product")


def create_price(call: Call) -> Obj:
    p = call.params
    product = call.store.get(
        "product", p.get("product", ""), object="product", param="product", status=400
    )
    currency = str(p.get("currency", "")).lower()
    if len(currency) != 3:
        raise invalid("Invalid currency.", "currency")
    amount = integer(p, "unit_amount", required=True)
    if amount is None or amount < 0:
        raise invalid("Invalid non-negative integer", "unit_amount")
    lookup = p.get("lookup_key")
    if lookup and any(price["lookup_key"] == lookup for price in call.store.all("price")):
        raise refused(f"A price already uses the lookup key '{lookup}'.", None, "lookup_key")
    recurring = p.get("recurring")
    if recurring is not None and recurring.get("interval") not in ("day", "week", "month", "year"):
        raise invalid("Invalid recurring[interval]", "recurring[interval]")
    price = call.store.add(
        {
            "id": call.store.new_id("price"),
            "object": "price",
            "active": True,
            "billing_scheme": "per_unit",
            "created": call.store.now(),
            "currency": currency,
            "custom_unit_amount": None,
            "livemode": False,
            "lookup_key": lookup,
            "metadata": {},
            "nickname": None,
            "product": product["id"],
            "recurring": None
            if recurring is None
            else {
                "interval": recurring["interval"],
                "interval_count": int(recurring.get("interval_count", 1)),
                "meter": None,
                "trial_period_days": None,
                "usage_type": "licensed",
            },
            "tax_behavior": "unspecified",
            "tiers_mode": None,
            "transform_quantity": None,
            "type": "one_time" if recurring is None else "recurring",
            "unit_amount": amount,
            "unit_amount_decimal": str(amount),
        }
    )
    merge_metadata(price, p.get("metadata"))
    call.store.emit("price.created", price)
    return price


def list_prices(call: Call) -> Obj:
    p = call.params
    prices = list(reversed(call.store.all("price")))
    if "lookup_keys" in p:
        if len(p["lookup_keys"]) > 10:
            raise invalid("You may only specify up to 10 lookup_keys.", "lookup_keys")
        prices = [price for price in prices if price["lookup_key"] in p["lookup_keys"]]
    if "active" in p:
        prices = [price for price in prices if price["active"] == flag(p["active"])]
    return expand(call.store, page(prices, p, "/v1/prices"), call.expand)


def retrieve_price(call: Call) -> Obj:
    return call.store.get("price", call.ids["id"], object="price")
