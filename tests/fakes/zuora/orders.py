"""Orders (`POST /v1/orders`, `GET /v1/orders/{orderNumber}`), their preview
(`POST /v1/orders/preview`) and subscriptions (`GET /v1/subscriptions/{key}`).

Order actions: CreateSubscription, AddProduct, UpdateProduct, RemoveProduct,
TermsAndConditions (autoRenew, renewalTerms) and RenewSubscription. An order is all or
nothing: its actions run on a copy that replaces the subscription only when all succeeded.
A removed rate plan stays on the subscription with lastChangeType "Remove", as in Zuora.

The preview answers one invoice through the term end whose items are the order's own
changes, prorated from their trigger date to the term end by day (amount x remaining days /
term days, rounded half up to the cent), as the app does. A tenant set to Zuora's other
proration ("prorate by month first, then by day"; `store.proration = "month_first"`)
differs in ONE case: an UpdateProduct that raises a charge's quantity at the same price (a
seat add) is prorated by months: whole months left plus the rest of a month as a share of
that month's days, over the term's months. So a mid-term seat add is a few cents to a few
dollars off the app's day-based amount, and the billing room refuses it.
"""

from __future__ import annotations

import calendar
import copy
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from tests.fakes.zuora.store import (
    Call,
    Obj,
    Router,
    Store,
    ZuoraFault,
    invalid,
    money,
    not_found,
    number,
)


def register(router: Router) -> None:
    router.post("/v1/orders/preview", preview_order)
    router.post("/v1/orders", create_order)
    router.get("/v1/orders/{number}", get_order)
    router.get("/v1/subscriptions/{key}", get_subscription)


def create_order(call: Call) -> Obj:
    store, body = call.store, call.body
    order_number = str(body.get("orderNumber") or store.next_number("O-", store.orders))
    if order_number in store.orders:
        raise ZuoraFault(50000020, f"The order number {order_number} already exists.")
    account = _account(store, body)
    changed = [_apply(store, account, given, []) for given in body.get("subscriptions") or []]
    for subscription in changed:
        store.subscriptions[subscription["subscriptionNumber"]] = subscription
    numbers = [subscription["subscriptionNumber"] for subscription in changed]
    store.orders[order_number] = {
        "orderNumber": order_number,
        "orderDate": body.get("orderDate"),
        "existingAccountNumber": account["accountNumber"],
        "customFields": dict(body.get("customFields") or {}),
        "status": "Completed",
        "subscriptions": [{"subscriptionNumber": n} for n in numbers],
    }
    return {
        "success": True,
        "orderNumber": order_number,
        "accountNumber": account["accountNumber"],
        "status": "Completed",
        "subscriptionNumbers": numbers,
    }


def preview_order(call: Call) -> Obj:
    store, body = call.store, call.body
    account = _account(store, body)
    items: list[Obj] = []
    for given in body.get("subscriptions") or []:
        _apply(store, account, given, items)
    total = sum((Decimal(str(item["amountWithoutTax"])) for item in items), Decimal(0))
    invoice = {
        "amount": number(total),
        "amountWithoutTax": number(total),
        "taxAmount": 0.0,
        "invoiceItems": items,
    }
    return {"success": True, "previewResult": {"invoices": [invoice] if items else []}}


def get_order(call: Call) -> Obj:
    order = call.store.orders.get(call.ids["number"])
    if order is None:
        raise not_found("order", call.ids["number"])
    return {"success": True, "order": copy.deepcopy(order)}


def get_subscription(call: Call) -> Obj:
    subscription = call.store.find(call.store.subscriptions, call.ids["key"], "subscription")
    return {"success": True, **copy.deepcopy(subscription)}


# -- order actions -------------------------------------------------------------------------


def _account(store: Store, body: Obj) -> Obj:
    key = str(body.get("existingAccountNumber") or "")
    return store.find(store.accounts, key, "account")


def _apply(store: Store, account: Obj, given: Obj, previewed: list[Obj]) -> Obj:
    """The subscription after the actions (a copy); prorated preview items to `previewed`."""
    number_ = given.get("subscriptionNumber")
    subscription: Obj | None = None
    if number_:
        subscription = copy.deepcopy(store.find(store.subscriptions, str(number_), "subscription"))
        if subscription["accountNumber"] != account["accountNumber"]:
            raise invalid("the subscription belongs to another account")
    for action in given.get("orderActions") or []:
        kind = action.get("type")
        on = _trigger(action)
        if kind == "CreateSubscription":
            subscription = _create(store, account, action["createSubscription"])
            continue
        if subscription is None:
            raise ZuoraFault(50000022, "subscriptionNumber is required")
        if kind == "AddProduct":
            plan = _rate_plan(store, subscription, action["addProduct"])
            subscription["ratePlans"].append(plan)
            previewed.append(_item(subscription, plan, on, _value(plan)))
        elif kind == "UpdateProduct":
            _update(subscription, action["updateProduct"], on, previewed, store.proration)
        elif kind == "RemoveProduct":
            plan = _plan(subscription, action["removeProduct"].get("ratePlanId"))
            plan["lastChangeType"] = "Remove"
            previewed.append(_item(subscription, plan, on, -_value(plan)))
        elif kind == "TermsAndConditions":
            _terms(subscription, action["termsAndConditions"])
        elif kind == "RenewSubscription":
            start = date.fromisoformat(subscription["termEndDate"])
            subscription["termStartDate"] = start.isoformat()
            end = start + timedelta(days=subscription["renewalTermDays"])
            subscription["termEndDate"] = end.isoformat()
        else:
            raise invalid(f"unsupported order action type {kind!r}")
    if subscription is None:
        raise ZuoraFault(50000022, "orderActions are required")
    subscription.update(given.get("customFields") or {})
    return subscription


def _create(store: Store, account: Obj, given: Obj) -> Obj:
    terms = given.get("terms") or {}
    initial = terms.get("initialTerm") or {}
    if initial.get("periodType") != "Day" or initial.get("termType") != "TERMED":
        raise invalid("the fake takes TERMED terms in days only")
    start = date.fromisoformat(str(initial["startDate"]))
    renewal = (terms.get("renewalTerms") or [{}])[0]
    subscription: Obj = {
        "id": store.new_id(),
        "subscriptionNumber": store.next_number("A-S", store.subscriptions),
        "accountNumber": account["accountNumber"],
        "currency": account["currency"],
        "status": "Active",
        "termType": "TERMED",
        "termStartDate": start.isoformat(),
        "termEndDate": (start + timedelta(days=int(initial["period"]))).isoformat(),
        "renewalTermDays": int(renewal.get("period") or initial["period"]),
        "autoRenew": bool(terms.get("autoRenew")),
        "ratePlans": [],
    }
    for given_plan in given.get("subscribeToRatePlans") or []:
        subscription["ratePlans"].append(_rate_plan(store, subscription, given_plan))
    return subscription


def _rate_plan(store: Store, subscription: Obj, given: Obj) -> Obj:
    catalog_plan = store.rate_plans.get(str(given.get("productRatePlanId")))
    if catalog_plan is None:
        raise not_found("product rate plan", str(given.get("productRatePlanId")))
    charges = []
    for override in given.get("chargeOverrides") or []:
        charge_id = str(override.get("productRatePlanChargeId"))
        catalog_charge = store.charges.get(charge_id)
        if catalog_charge is None or catalog_charge["productRatePlanId"] != catalog_plan["id"]:
            raise not_found("product rate plan charge", charge_id)
        if subscription["currency"] not in catalog_charge["currencies"]:
            raise invalid(f"the charge has no price in {subscription['currency']}")
        quantity, price = _per_unit(override)
        charges.append(
            {
                "id": store.new_id(),
                "number": f"C-{store.new_id()[-8:]}",
                "productRatePlanChargeId": charge_id,
                "quantity": quantity,
                "price": price,
            }
        )
    return {
        "id": store.new_id(),
        "productRatePlanId": catalog_plan["id"],
        "productSku": catalog_plan["productSku"],
        "lastChangeType": "Add",
        "ratePlanCharges": charges,
    }


def _update(subscription: Obj, given: Obj, on: date, previewed: list[Obj], proration: str) -> None:
    plan = _plan(subscription, given.get("ratePlanId"))
    before = _value(plan)
    seat_add = False
    for update in given.get("chargeUpdates") or []:
        charge = next(
            (c for c in plan["ratePlanCharges"] if c["number"] == update.get("chargeNumber")),
            None,
        )
        if charge is None:
            raise not_found("charge", str(update.get("chargeNumber")))
        quantity, price = _per_unit(update)
        seat_add = price == charge["price"] and quantity > charge["quantity"]
        charge["quantity"], charge["price"] = quantity, price
    plan["lastChangeType"] = "Update"
    delta = _value(plan) - before
    by_month = seat_add and proration == "month_first"
    previewed.append(_item(subscription, plan, on, delta, by_month=by_month))


def _terms(subscription: Obj, given: Obj) -> None:
    if "autoRenew" in given:
        subscription["autoRenew"] = bool(given["autoRenew"])
    for renewal in given.get("renewalTerms") or []:
        if renewal.get("periodType") != "Day":
            raise invalid("the fake takes renewal terms in days only")
        subscription["renewalTermDays"] = int(renewal["period"])


def _plan(subscription: Obj, plan_id: Any) -> Obj:
    for plan in subscription["ratePlans"]:
        if plan["id"] == plan_id and plan.get("lastChangeType") != "Remove":
            return plan
    raise not_found("rate plan", str(plan_id))


def _per_unit(given: Obj) -> tuple[int, float]:
    per_unit = (given.get("pricing") or {}).get("recurringPerUnit") or {}
    quantity, price = per_unit.get("quantity"), per_unit.get("listPrice")
    if not isinstance(quantity, int) or quantity < 0 or price is None or price < 0:
        raise invalid("pricing.recurringPerUnit needs a quantity and a listPrice")
    return quantity, float(money(price))


def _value(plan: Obj) -> Decimal:
    """The rate plan's amount per term."""
    return sum((money(c["price"]) * c["quantity"] for c in plan["ratePlanCharges"]), Decimal(0))


def _trigger(action: Obj) -> date:
    for trigger in action.get("triggerDates") or []:
        if trigger.get("name") == "ContractEffective":
            return date.fromisoformat(str(trigger["triggerDate"]))
    raise ZuoraFault(50000022, "triggerDates ContractEffective is required")


def _item(
    subscription: Obj, plan: Obj, on: date, per_term: Decimal, *, by_month: bool = False
) -> Obj:
    start = date.fromisoformat(subscription["termStartDate"])
    end = date.fromisoformat(subscription["termEndDate"])
    if by_month:
        share = _months(on, end) / _months(start, end)
    else:
        share = Decimal((end - on).days) / Decimal((end - start).days)
    amount = (per_term * share).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return {
        "serviceStartDate": on.isoformat(),
        "serviceEndDate": (end - timedelta(days=1)).isoformat(),
        "amountWithoutTax": number(amount),
        "taxAmount": 0.0,
        "chargeName": plan["productSku"],
        "productName": plan["productSku"],
    }


def _months(start: date, end: date) -> Decimal:
    """Whole months from `start`, then the rest as a share of the next month's days."""
    whole, cursor = 0, start
    while (following := _add_month(cursor, start.day)) <= end:
        whole, cursor = whole + 1, following
    month_days = calendar.monthrange(cursor.year, cursor.month)[1]
    return whole + Decimal((end - cursor).days) / Decimal(month_days)


def _add_month(day: date, anchor: int) -> date:
    year, month = (day.year + 1, 1) if day.month == 12 else (day.year, day.month + 1)
    return date(year, month, min(anchor, calendar.monthrange(year, month)[1]))
