"""Customers and PaymentMethods (with Stripe's test PaymentMethods).

- "pm_card_visa", "pm_card_mastercard": attach, and charges succeed.
- "pm_card_chargeCustomerFail": attaches; every charge declines (card_declined,
  generic_decline).
- "pm_card_chargeDeclined": refused at attach (402 card_error card_declined).
Attaching a test PaymentMethod makes a new PaymentMethod (a new pm_ id) on the customer.
A customer created with `test_clock` lives at that clock's time (clocks.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tests.fakes.stripe import clocks
from tests.fakes.stripe.store import (
    Obj,
    StripeFault,
    expand,
    invalid,
    merge_metadata,
    missing,
    refused,
)

if TYPE_CHECKING:
    from tests.fakes.stripe.server import Call, Router

# token -> (brand, last4, what happens: None | "charge" (declines) | "attach" (refused))
TEST_CARDS: dict[str, tuple[str, str, str | None]] = {
    "pm_card_visa": ("visa", "4242", None),
    "pm_card_mastercard": ("mastercard", "4444", None),
    "pm_card_chargeCustomerFail": ("visa", "0341", "charge"),
    "pm_card_chargeDeclined": ("visa", "0002", "attach"),
}


def register(router: Router) -> None:
    router.post("/v1/customers", create)
    router.get("/v1/customers/{id}", retrieve)
    router.post("/v1/customers/{id}", update)
    router.delete("/v1/customers/{id}", delete)
    router.get("/v1/payment_methods/{id}", retrieve_payment_method)
    router.post("/v1/payment_methods/{id}/attach", attach)


def customer(call: Call, ref: str, param: str | None = None, status: int = 404) -> Obj:
    """A live customer (a deleted one is missing for everything but a read)."""
    found = call.store.get("customer", ref, object="customer", param=param, status=status)
    if found.get("deleted"):
        raise missing("customer", ref, param, status)
    return found


def create(call: Call) -> Obj:
    p = call.params
    clock_ref = p.get("test_clock") or None
    if clock_ref is not None:
        on = clocks.clock(call, clock_ref, "test_clock", 400)
        clocks.check_room(call.store, on["id"])
        call.store.frozen = int(on["frozen_time"])  # the customer lives at the clock's time
    cust = call.store.add(
        {
            "id": call.store.new_id("cus"),
            "object": "customer",
            "address": None,
            "balance": 0,
            "created": call.store.now(),
            "currency": None,
            "default_source": None,
            "delinquent": False,
            "description": p.get("description"),
            "email": p.get("email"),
            "invoice_prefix": "FAKE",
            "invoice_settings": {
                "custom_fields": None,
                "default_payment_method": None,
                "footer": None,
                "rendering_options": None,
            },
            "livemode": False,
            "metadata": {},
            "name": p.get("name"),
            "phone": None,
            "preferred_locales": [],
            "shipping": None,
            "tax_exempt": "none",
            "test_clock": clock_ref,
        }
    )
    merge_metadata(cust, p.get("metadata"))
    call.store.emit("customer.created", cust)
    return render(call, cust)


def retrieve(call: Call) -> Obj:
    found = call.store.get("customer", call.ids["id"], object="customer")
    return found if found.get("deleted") else render(call, found)


def delete(call: Call) -> Obj:
    """Stripe keeps a deleted customer as a stub: {"id", "object", "deleted": true}."""
    cust = customer(call, call.ids["id"])
    stub = {"id": cust["id"], "object": "customer", "deleted": True}
    call.store.objects[cust["id"]] = stub
    call.store.emit("customer.deleted", cust)
    return stub


def update(call: Call) -> Obj:
    cust = customer(call, call.ids["id"])
    p, previous = call.params, {}
    for field in ("name", "email", "description"):
        if field in p:
            previous[field], cust[field] = cust[field], p[field]
    default = (p.get("invoice_settings") or {}).get("default_payment_method")
    if default is not None:
        method = call.store.objects.get(default)
        if method is None or method.get("customer") != cust["id"]:
            raise invalid(
                f"No such PaymentMethod: '{default}'",
                "invoice_settings[default_payment_method]",
                "resource_missing",
            )
        previous["invoice_settings"] = dict(cust["invoice_settings"])
        cust["invoice_settings"]["default_payment_method"] = default
    if "metadata" in p:
        previous["metadata"] = dict(cust["metadata"])
        merge_metadata(cust, p["metadata"])
    call.store.emit("customer.updated", cust, previous)
    return render(call, cust)


def retrieve_payment_method(call: Call) -> Obj:
    return call.store.get("PaymentMethod", call.ids["id"], object="payment_method")


def attach(call: Call) -> Obj:
    ref = call.ids["id"]
    cust_ref = call.params.get("customer")
    if not cust_ref:
        raise invalid("Missing required param: customer.", "customer", "parameter_missing")
    cust = customer(call, cust_ref, "customer", 400)
    if ref in TEST_CARDS:
        brand, last4, behaviour = TEST_CARDS[ref]
        if behaviour == "attach":
            raise StripeFault(
                402,
                "Your card was declined.",
                type="card_error",
                code="card_declined",
                decline_code="generic_decline",
            )
        method = call.store.add(_payment_method(call, brand, last4))
        call.store.declines[method["id"]] = "generic_decline" if behaviour else None
    else:
        method = call.store.objects.get(ref) or {}
        if method.get("object") != "payment_method":
            raise missing("PaymentMethod", ref, "payment_method")
        if method["customer"] not in (None, cust["id"]):
            raise refused(
                "The payment method you provided has already been attached to a customer.",
                "payment_method_unexpected_state",
            )
    method["customer"] = cust["id"]
    call.store.emit("payment_method.attached", method)
    return method


def _payment_method(call: Call, brand: str, last4: str) -> Obj:
    return {
        "id": call.store.new_id("pm"),
        "object": "payment_method",
        "allow_redisplay": "unspecified",
        "billing_details": {"address": None, "email": None, "name": None, "phone": None},
        "card": {
            "brand": brand,
            "country": "US",
            "exp_month": 12,
            "exp_year": 2034,
            "funding": "credit",
            "last4": last4,
        },
        "created": call.store.now(),
        "customer": None,
        "livemode": False,
        "metadata": {},
        "type": "card",
    }


def render(call: Call, cust: Obj) -> Obj:
    return expand(call.store, cust, call.expand)
