"""Test clocks (test_helpers.test_clock), as Stripe documents them:

- create with `frozen_time` (and `name`, and an existing `customer` to attach); at most
  MAX_CLOCKS per account and MAX_CUSTOMERS customers per clock, the limits answered with
  400 invalid_request_error (the wording is the fake's);
- a customer created with `test_clock` lives at the clock's frozen time, and so does every
  object of it (store.py `enter_clock_of`): `created`, finalization, payments;
- advance only forward, from `ready`, at most two intervals of the shortest subscription on
  the clock (two years without one); the clock is `advancing` for `store.advance_seconds`,
  then its subscriptions pass each period end on the way (renewed with the anchor invoice,
  which pause_collection[behavior] voids, keeps as a draft or marks uncollectible; or ended
  when cancel_at_period_end), and it is `ready` at the new time
  (`test_helpers.test_clock.ready`); a clock in `store.failing_clocks` ends in
  `internal_failure` instead, and refuses every later advance;
- delete: the clock and everything on it (its customers, their subscriptions and invoices).
"""

from __future__ import annotations

import asyncio
import calendar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from tests.fakes.stripe import invoices, subscriptions
from tests.fakes.stripe.store import Obj, Store, integer, invalid, page, refused

if TYPE_CHECKING:
    from tests.fakes.stripe.server import Call, Router

OBJECT = "test_helpers.test_clock"
MAX_CLOCKS = 100
MAX_CUSTOMERS = 3
DAY = 86_400
TWO_YEARS = 2 * 365 * DAY
LIFETIME = 30 * DAY  # deletes_after: a clock Stripe deletes on its own later
_INVOICE_OF_PAUSE = {
    "void": "void",
    "keep_as_draft": "draft",
    "mark_uncollectible": "uncollectible",
}


def register(router: Router) -> None:
    router.post("/v1/test_helpers/test_clocks", create)
    router.get("/v1/test_helpers/test_clocks", list_clocks)
    router.get("/v1/test_helpers/test_clocks/{id}", retrieve)
    router.delete("/v1/test_helpers/test_clocks/{id}", delete)
    router.post("/v1/test_helpers/test_clocks/{id}/advance", advance)


def clock(call: Call, ref: str, param: str | None = None, status: int = 404) -> Obj:
    return call.store.get("test_clock", ref, object=OBJECT, param=param, status=status)


def customers_on(store: Store, ref: str) -> list[Obj]:
    return [c for c in store.all("customer") if c.get("test_clock") == ref and not c.get("deleted")]


def check_room(store: Store, ref: str) -> None:
    """A customer more would be one too many for the clock."""
    if len(customers_on(store, ref)) >= MAX_CUSTOMERS:
        raise invalid(
            f"The test clock {ref} already has the maximum of {MAX_CUSTOMERS} customers.",
            "test_clock",
        )


def create(call: Call) -> Obj:
    p = call.params
    frozen = integer(p, "frozen_time", required=True)
    assert frozen is not None
    if len(call.store.all(OBJECT)) >= MAX_CLOCKS:
        raise invalid(
            f"You can have at most {MAX_CLOCKS} test clocks; delete one to create another."
        )
    if len(str(p.get("name") or "")) > 300:
        raise invalid("Invalid string: the name is longer than 300 characters.", "name")
    now = int(call.store.clock())
    created = call.store.add(
        {
            "id": call.store.new_id("clock"),
            "object": OBJECT,
            "created": now,
            "deletes_after": now + LIFETIME,
            "frozen_time": frozen,
            "livemode": False,
            "name": p.get("name"),
            "status": "ready",
            "status_details": {},
        }
    )
    if p.get("customer"):
        _attach(call, created, p["customer"])
    call.store.emit("test_helpers.test_clock.created", created)
    return created


def _attach(call: Call, found: Obj, ref: str) -> None:
    cust = call.store.objects.get(ref)
    if cust is None or cust.get("object") != "customer" or cust.get("deleted"):
        del call.store.objects[found["id"]]
        raise invalid(f"No such customer: '{ref}'", "customer", "resource_missing")
    if cust.get("test_clock"):
        del call.store.objects[found["id"]]
        raise invalid(f"The customer {ref} is already attached to a test clock.", "customer")
    cust["test_clock"] = found["id"]


def retrieve(call: Call) -> Obj:
    return clock(call, call.ids["id"])


def list_clocks(call: Call) -> Obj:
    found = list(reversed(call.store.all(OBJECT)))
    return page(found, call.params, "/v1/test_helpers/test_clocks")


def delete(call: Call) -> Obj:
    found = clock(call, call.ids["id"])
    gone = {cust["id"] for cust in customers_on(call.store, found["id"])}
    for ref, obj in list(call.store.objects.items()):
        if obj.get("customer") in gone and obj.get("object") in ("subscription", "invoice"):
            del call.store.objects[ref]
    for ref in gone:
        call.store.objects[ref] = {"id": ref, "object": "customer", "deleted": True}
    del call.store.objects[found["id"]]
    call.store.emit("test_helpers.test_clock.deleted", found)
    return {"id": found["id"], "object": OBJECT, "deleted": True}


def advance(call: Call) -> Obj:
    found = clock(call, call.ids["id"])
    to = integer(call.params, "frozen_time", required=True)
    assert to is not None
    if found["status"] == "internal_failure":
        raise refused("This test clock failed to advance; delete it and create a new one.")
    if found["status"] != "ready":
        raise refused(f"The test clock {found['id']} is already advancing.")
    if to <= found["frozen_time"]:
        raise invalid("The frozen_time must be after the test clock's frozen_time.", "frozen_time")
    if to > _furthest(call.store, found):
        raise invalid(
            "You can only advance a test clock up to two intervals of its shortest "
            "subscription (two years when it has none).",
            "frozen_time",
        )
    found["status"] = "advancing"
    found["status_details"] = {"advancing": {"target_frozen_time": to}}
    call.store.emit("test_helpers.test_clock.advancing", found)
    store = call.store
    asyncio.get_running_loop().call_later(store.advance_seconds, _finish, store, found, to)
    return found


def _finish(store: Store, found: Obj, to: int) -> None:
    """The end of the asynchronous step: the clock's objects move to `to`, or it fails."""
    if store.objects.get(found["id"]) is not found:
        return  # deleted meanwhile (or the fake was reset)
    found["status_details"] = {}
    if found["id"] in store.failing_clocks:
        found["status"] = "internal_failure"
        store.emit("test_helpers.test_clock.internal_failure", found)
        return
    for cust in customers_on(store, found["id"]):
        for sub in store.all("subscription"):
            if sub["customer"] == cust["id"]:
                _pass(store, sub, to)
    found["frozen_time"], found["status"] = to, "ready"
    store.frozen = to
    store.emit("test_helpers.test_clock.ready", found)
    store.frozen = None


def _furthest(store: Store, found: Obj) -> int:
    intervals = [
        _later(found["frozen_time"], item["price"]["recurring"], 2) - found["frozen_time"]
        for cust in customers_on(store, found["id"])
        for sub in store.all("subscription")
        if sub["customer"] == cust["id"] and sub["status"] != "canceled"
        for item in (store.objects[ref] for ref in sub["items"])
    ]
    return found["frozen_time"] + min(intervals, default=TWO_YEARS)


def _pass(store: Store, sub: Obj, to: int) -> None:
    """Every period end of `sub` up to `to`: it ends there, or renews for one more interval
    with its anchor invoice."""
    while sub["status"] != "canceled" and sub["items"]:
        items = [store.objects[ref] for ref in sub["items"]]
        end = min(item["current_period_end"] for item in items)
        if end > to:
            break
        store.frozen = end
        if sub["cancel_at_period_end"]:
            sub["status"], sub["ended_at"], sub["canceled_at"] = "canceled", end, end
            store.emit("customer.subscription.deleted", _shown(store, sub))
            continue
        following = _later(end, items[0]["price"]["recurring"], 1)
        for item in items:
            item["current_period_start"], item["current_period_end"] = end, following
        sub["latest_invoice"] = _anchor_invoice(store, sub, items, end, following)["id"]
        store.emit("customer.subscription.updated", _shown(store, sub))
    store.frozen = None


def _anchor_invoice(store: Store, sub: Obj, items: list[Obj], start: int, end: int) -> Obj:
    """The invoice Stripe makes at the period start, finalized, then as pause_collection
    says (none: left open; the fake attempts no charge)."""
    cust = store.objects[sub["customer"]]
    total = sum(int(item["price"]["unit_amount"]) * int(item["quantity"]) for item in items)
    behavior = (sub.get("pause_collection") or {}).get("behavior")
    status = _INVOICE_OF_PAUSE.get(behavior or "", "open")
    inv = store.add(
        {
            "id": store.new_id("in"),
            "object": "invoice",
            "amount_due": total,
            "amount_overpaid": 0,
            "amount_paid": 0,
            "amount_remaining": total,
            "attempt_count": 0,
            "attempted": False,
            "auto_advance": status == "open",
            "billing_reason": "subscription_cycle",
            "collection_method": sub["collection_method"],
            "created": start,
            "currency": sub["currency"],
            "customer": cust["id"],
            "customer_email": cust.get("email"),
            "customer_name": cust.get("name"),
            "default_payment_method": None,
            "description": None,
            "discounts": [],
            "due_date": None,
            "effective_at": None if status == "draft" else start,
            "ending_balance": None if status == "draft" else 0,
            "lines": [],
            "livemode": False,
            "metadata": {},
            "number": None if status == "draft" else f"FAKE-{len(store.all('invoice')):04d}",
            "parent": {
                "type": "subscription_details",
                "subscription_details": {"subscription": sub["id"], "metadata": {}},
            },
            "period_end": start,
            "period_start": start,
            "starting_balance": 0,
            "status": status,
            "status_transitions": {
                "finalized_at": None if status == "draft" else start,
                "marked_uncollectible_at": start if status == "uncollectible" else None,
                "paid_at": None,
                "voided_at": start if status == "void" else None,
            },
            "subtotal": total,
            "total": total,
            "total_taxes": [],
        }
    )
    for item in items:
        _line(store, inv, item, start, end)
    internal = _Internal(store)
    store.emit("invoice.created", invoices.render(internal, inv, []))  # type: ignore[arg-type]
    if status == "void":
        store.emit("invoice.voided", invoices.render(internal, inv, []))  # type: ignore[arg-type]
    return inv


def _line(store: Store, inv: Obj, item: Obj, start: int, end: int) -> None:
    unit = int(item["price"]["unit_amount"])
    line = store.add(
        {
            "id": store.new_id("il"),
            "object": "line_item",
            "amount": unit * int(item["quantity"]),
            "currency": inv["currency"],
            "description": None,
            "discount_amounts": [],
            "discountable": True,
            "discounts": [],
            "invoice": inv["id"],
            "livemode": False,
            "metadata": {},
            "parent": {
                "type": "subscription_item_details",
                "invoice_item_details": None,
                "subscription_item_details": {
                    "invoice_item": None,
                    "proration": False,
                    "proration_details": {"credited_items": None},
                    "subscription": item["subscription"],
                    "subscription_item": item["id"],
                },
            },
            "period": {"start": start, "end": end},
            "pricing": {"type": "price_details", "unit_amount_decimal": str(unit)},
            "quantity": item["quantity"],
            "taxes": [],
        }
    )
    inv["lines"].append(line["id"])


@dataclass
class _Internal:
    """What the render helpers read of a request, for what a clock does on its own."""

    store: Store
    params: Obj = field(default_factory=dict)

    @property
    def expand(self) -> list[str]:
        return []


def _shown(store: Store, sub: Obj) -> Obj:
    return subscriptions.render(_Internal(store), sub, [])  # type: ignore[arg-type]


def _later(stamp: int, recurring: Obj | None, count: int) -> int:
    """`count` intervals of the price after `stamp` (months and years by the calendar)."""
    interval = (recurring or {}).get("interval", "year")
    n = int((recurring or {}).get("interval_count", 1)) * count
    if interval in ("day", "week"):
        return stamp + n * (DAY if interval == "day" else 7 * DAY)
    moment = datetime.fromtimestamp(stamp, UTC)
    months = moment.month - 1 + (n * 12 if interval == "year" else n)
    year, month = moment.year + months // 12, months % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return int((moment.replace(year=year, month=month, day=day)).timestamp())
