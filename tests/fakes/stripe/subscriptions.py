"""Subscriptions and their items. A subscription's current period runs from its creation to
its billing_cycle_anchor (a year when none is given); nothing bills on its own here, as
time only moves when a test moves it, except under its customer's test clock (clocks.py:
advancing it renews or ends the subscription at its period end). `store.prorations` records
the proration_behavior of every create, and of every update that changes items or names one
(None: not given)."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING

from tests.fakes.stripe import customers
from tests.fakes.stripe.store import (
    Obj,
    StripeFault,
    expand,
    flag,
    integer,
    invalid,
    list_of,
    merge_metadata,
    page,
    refused,
)

if TYPE_CHECKING:
    from tests.fakes.stripe.server import Call, Router

YEAR = 365 * 86_400
_PRORATIONS = ("create_prorations", "none", "always_invoice")
_PAUSES = ("keep_as_draft", "mark_uncollectible", "void")


def register(router: Router) -> None:
    router.post("/v1/subscriptions", create)
    router.get("/v1/subscriptions/{id}", retrieve)
    router.post("/v1/subscriptions/{id}", update)
    router.get("/v1/subscription_items", list_items)


def subscription(call: Call, ref: str) -> Obj:
    return call.store.get("subscription", ref, object="subscription")


def create(call: Call) -> Obj:
    p = call.params
    cust = customers.customer(call, p.get("customer", ""), "customer", 400)
    now = call.store.now()  # the customer's test clock's time, if it has one
    _proration(call)
    anchor = integer(p, "billing_cycle_anchor")
    if anchor is not None and anchor <= now:
        raise invalid("billing_cycle_anchor must be in the future.", "billing_cycle_anchor")
    given = p.get("items") or []
    if not given:
        raise invalid("Missing required param: items.", "items", "parameter_missing")
    sub: Obj = {
        "id": call.store.new_id("sub"),
        "object": "subscription",
        "billing_cycle_anchor": anchor or now,
        "cancel_at": None,
        "cancel_at_period_end": False,
        "canceled_at": None,
        "collection_method": p.get("collection_method", "charge_automatically"),
        "created": now,
        "currency": None,
        "customer": cust["id"],
        "days_until_due": None,
        "default_payment_method": None,
        "description": None,
        "discounts": [],
        "ended_at": None,
        "items": [],
        "latest_invoice": None,
        "livemode": False,
        "metadata": {},
        "pause_collection": None,
        "start_date": now,
        "status": "active",
        "test_clock": cust.get("test_clock"),
        "trial_end": None,
        "trial_start": None,
    }
    for change in given:
        _add_item(call, sub, change)
    merge_metadata(sub, p.get("metadata"))
    call.store.add(sub)
    call.store.emit("customer.subscription.created", render(call, sub, []))
    return render(call, sub, call.expand)


def retrieve(call: Call) -> Obj:
    return render(call, subscription(call, call.ids["id"]), call.expand)


def update(call: Call) -> Obj:
    sub, p = subscription(call, call.ids["id"]), call.params
    if sub["status"] == "canceled" and set(p) - {"metadata", "expand"}:
        raise refused(
            "A canceled subscription can only update its cancellation_details and metadata."
        )
    if "items" in p or "proration_behavior" in p:
        _proration(call)
    previous = {key: sub[key] for key in ("cancel_at_period_end", "pause_collection")}
    previous["metadata"] = dict(sub["metadata"])
    kept = copy.deepcopy({ref: call.store.objects[ref] for ref in [sub["id"], *sub["items"]]})
    try:
        _apply(call, sub, p)
    except StripeFault:  # Stripe applies an update whole or not at all
        call.store.objects.update(kept)
        raise
    call.store.emit("customer.subscription.updated", render(call, sub, []), previous)
    return render(call, sub, call.expand)


def _apply(call: Call, sub: Obj, p: Obj) -> None:
    if "cancel_at_period_end" in p:
        sub["cancel_at_period_end"] = flag(p["cancel_at_period_end"])
    if "pause_collection" in p:
        sub["pause_collection"] = _pause(p["pause_collection"])
    for change in p.get("items") or []:
        _change_item(call, sub, change)
    merge_metadata(sub, p.get("metadata"))


def list_items(call: Call) -> Obj:
    sub = call.store.get(
        "subscription",
        call.params.get("subscription", ""),
        object="subscription",
        param="subscription",
        status=400,
    )
    items = [call.store.objects[ref] for ref in sub["items"]]
    return expand(call.store, page(items, call.params, "/v1/subscription_items"), call.expand)


def render(call: Call, sub: Obj, paths: list[str]) -> Obj:
    items = [call.store.objects[ref] for ref in sub["items"]]
    shown = {
        **sub,
        "items": list_of(
            items[:10], f"/v1/subscription_items?subscription={sub['id']}", has_more=len(items) > 10
        ),
    }
    shown["items"]["total_count"] = len(items)
    return expand(call.store, shown, paths)


def _proration(call: Call) -> None:
    behaviour = call.params.get("proration_behavior")
    if behaviour is not None and behaviour not in _PRORATIONS:
        raise invalid(f"Invalid proration_behavior: {behaviour}", "proration_behavior")
    call.store.prorations.append(behaviour)


def _pause(given: object) -> Obj | None:
    if given == "":
        return None
    behavior = given.get("behavior") if isinstance(given, dict) else None
    if behavior not in _PAUSES:
        raise invalid("Invalid pause_collection[behavior]", "pause_collection[behavior]")
    return {"behavior": behavior, "resumes_at": None}


def _price(call: Call, sub: Obj, ref: str, among: list[str] | None = None) -> Obj:
    price = call.store.get("price", ref, object="price", param="items[price]", status=400)
    if price["type"] != "recurring" or not price["active"]:
        raise invalid(f"The price {ref} is not an active recurring price.", "items[price]")
    if sub["currency"] not in (None, price["currency"]):
        raise invalid("All prices on a subscription must have the same currency.", "items")
    among = sub["items"] if among is None else among
    if any(call.store.objects[item]["price"]["id"] == ref for item in among):
        raise invalid(f"Cannot add multiple subscription items with the same price: {ref}")
    sub["currency"] = price["currency"]
    return price


def _quantity(change: Obj) -> int:
    quantity = integer(change, "quantity")
    if quantity is not None and quantity < 0:
        raise invalid("Invalid non-negative integer", "items[quantity]")
    return 1 if quantity is None else quantity


def _add_item(call: Call, sub: Obj, change: Obj) -> None:
    price = _price(call, sub, change.get("price", ""))
    now = call.store.now()
    item = call.store.add(
        {
            "id": call.store.new_id("si"),
            "object": "subscription_item",
            "created": now,
            "current_period_end": sub["billing_cycle_anchor"]
            if sub["billing_cycle_anchor"] > now
            else now + YEAR,
            "current_period_start": now,
            "discounts": [],
            "metadata": {},
            "price": dict(price),
            "quantity": _quantity(change),
            "subscription": sub["id"],
            "tax_rates": [],
        }
    )
    sub["items"].append(item["id"])


def _change_item(call: Call, sub: Obj, change: Obj) -> None:
    ref = change.get("id")
    if ref is None:
        _add_item(call, sub, change)
        return
    if ref not in sub["items"]:
        raise invalid(f"No such subscription item: '{ref}'", "items[id]", "resource_missing")
    item = call.store.objects[ref]
    if flag(change.get("deleted")):
        sub["items"].remove(ref)
        del call.store.objects[ref]
        return
    if "price" in change and change["price"] != item["price"]["id"]:
        others = [other for other in sub["items"] if other != ref]
        item["price"] = dict(_price(call, sub, change["price"], others))
    if "quantity" in change:
        item["quantity"] = _quantity(change)
