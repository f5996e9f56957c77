"""Subscriptions through the Orders API: every change is one `POST /v1/orders`.

- create: a CreateSubscription order action, TERMED with the term in days (periodType "Day",
  so any term the app sells is exact), auto-renew on, one rate plan per item with the
  item's quantity and unit amount as a charge override (catalog.py);
- amend: UpdateProduct for an item whose product the subscription has (quantity or price
  changed), AddProduct for a new one, RemoveProduct for one no longer wanted, all
  triggered on the effective date;
- renew: TermsAndConditions (the renewal term: the new term's days), RenewSubscription,
  then the item changes on the new term's start;
- cancel / reactivate: TermsAndConditions with autoRenew false / true (the service runs to
  the term end; Zuora's subscription stays Active).

The item order the caller gave is kept in the subscription's `ItemOrder__c`.

Idempotency: an order is numbered from the caller's key (`order_number`) and carries a
digest of the neutral request in `RequestDigest__c`. Before anything else an operation reads
the order of that number: found with the same digest, the operation already happened and
the subscription is read back (a replay changes nothing); found with another digest, the
key was used for another request ("idempotency_key_reused"). So the order actions, which
depend on the subscription's state, are computed only once per key; a retry racing the first
request still in flight carries the same Idempotency-Key and gets Zuora's 409.

The order never bills (`runBilling` false): the app prices the change in app/domain and
charges it through its own invoice. `preview_amendment` previews the same actions
(`POST /v1/orders/preview`, previewTypes BillingDocs, through the term end) and returns
Zuora's prorated amount for them, so the billing room can compare it with its own before it
amends (app/services/billing/subscriptions.py); nothing is written by a preview.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from datetime import date
from typing import Any

from app.clock import Clock
from app.providers.billing.records import BillingSubscriptionRecord, SubscriptionItem
from app.providers.billing.zuora import checks, mapping
from app.providers.billing.zuora.catalog import Catalog, CatalogEntry
from app.providers.billing.zuora.client import Json, ZuoraApi
from app.providers.billing.zuora.errors import PROVIDER
from app.providers.errors import ProviderNotFound, ProviderRejected

_TRIGGERS = ("ContractEffective", "ServiceActivation", "CustomerAcceptance")


def order_number(key: str) -> str:
    return "O-" + hashlib.sha256(key.encode()).hexdigest()[:32].upper()


def digest(operation: str, request: Any) -> str:
    canonical = json.dumps([operation, request], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


async def get_subscriptions(
    api: ZuoraApi, refs: Sequence[str]
) -> Mapping[str, BillingSubscriptionRecord]:
    return await api.read_each(refs, lambda ref: read(api, ref))


async def read(api: ZuoraApi, ref: str) -> BillingSubscriptionRecord:
    return mapping.subscription(await subscription_of(api, ref))


async def subscription_of(api: ZuoraApi, ref: str) -> Json:
    return await api.get(f"/v1/subscriptions/{ref}", ref=ref)


async def create_subscription(
    api: ZuoraApi,
    catalog: Catalog,
    clock: Clock,
    account_ref: str,
    term_start: date,
    term_end: date,
    items: Sequence[SubscriptionItem],
    key: str,
) -> BillingSubscriptionRecord:
    checks.term(term_start, term_end)
    checked = checks.items(items)
    request = _term_request(account_ref, term_start, term_end, checked)
    done = await _done(api, key, "create_subscription", request)
    if done is not None:
        return await read(api, done)
    account = await api.get(f"/v1/accounts/{account_ref}", ref=account_ref)
    currency = str((account.get("billingAndPayment") or {}).get("currency") or "USD")
    entries = await catalog.entries([item.product_code for item in checked])
    days = (term_end - term_start).days
    action = {
        "type": "CreateSubscription",
        "triggerDates": _triggers(term_start),
        "createSubscription": {
            "terms": {
                "initialTerm": {
                    "startDate": term_start.isoformat(),
                    "period": days,
                    "periodType": "Day",
                    "termType": "TERMED",
                },
                "renewalTerms": [{"period": days, "periodType": "Day"}],
                "autoRenew": True,
                "renewalSetting": "RENEW_WITH_SPECIFIC_TERM",
            },
            "subscribeToRatePlans": [
                _rate_plan(entries[item.product_code], item, currency) for item in checked
            ],
        },
    }
    placed = await _place(
        api, clock, key, account_ref, None, checked, [action], request, "create_subscription"
    )
    return await read(api, placed)


async def amend_subscription(
    api: ZuoraApi,
    catalog: Catalog,
    clock: Clock,
    ref: str,
    items: Sequence[SubscriptionItem],
    effective: date,
    key: str,
) -> BillingSubscriptionRecord:
    checked = checks.items(items)
    request = {"ref": ref, "effective": effective.isoformat(), "items": _items(checked)}
    if await _done(api, key, "amend_subscription", request) is not None:
        return await read(api, ref)
    before = await subscription_of(api, ref)
    actions = await _amendment(catalog, before, checked, effective)
    if not actions:
        return mapping.subscription(before)
    account = str(before["accountNumber"])
    await _place(api, clock, key, account, ref, checked, actions, request, "amend_subscription")
    return await read(api, ref)


async def preview_amendment(
    api: ZuoraApi,
    catalog: Catalog,
    clock: Clock,
    ref: str,
    items: Sequence[SubscriptionItem],
    effective: date,
) -> int:
    """Zuora's prorated charge for the amendment (minor units; a credit is negative): the
    previewed invoice items that start on the effective date, which are the change's own
    (a subscription Zuora never billed also shows its base charges, from the term start)."""
    checked = checks.items(items)
    before = await subscription_of(api, ref)
    actions = await _amendment(catalog, before, checked, effective)
    if not actions:
        return 0
    body = {
        "orderDate": clock.today().isoformat(),
        "existingAccountNumber": str(before["accountNumber"]),
        "previewOptions": {"previewThruType": "TermEnd", "previewTypes": ["BillingDocs"]},
        "subscriptions": [{"subscriptionNumber": ref, "orderActions": actions}],
    }
    previewed = await api.preview("/v1/orders/preview", body)
    currency = str(before.get("currency") or "USD")
    invoices = (previewed.get("previewResult") or {}).get("invoices") or []
    return sum(
        mapping.minor(item.get("amountWithoutTax"), currency)
        for invoice in invoices
        for item in invoice.get("invoiceItems") or []
        if str(item.get("serviceStartDate", ""))[:10] == effective.isoformat()
    )


async def renew_subscription(
    api: ZuoraApi,
    catalog: Catalog,
    clock: Clock,
    ref: str,
    term_start: date,
    term_end: date,
    items: Sequence[SubscriptionItem],
    key: str,
) -> BillingSubscriptionRecord:
    checks.term(term_start, term_end)
    checked = checks.items(items)
    request = _term_request(ref, term_start, term_end, checked)
    if await _done(api, key, "renew_subscription", request) is not None:
        return await read(api, ref)
    before = await subscription_of(api, ref)
    if not before.get("autoRenew"):
        raise ProviderRejected(PROVIDER, "subscription_not_active", "auto-renew is off")
    if term_start != mapping.day(before["termEndDate"]):
        raise checks.invalid("a renewal term starts where the current term ends")
    days = (term_end - term_start).days
    actions: list[Json] = [
        {
            "type": "TermsAndConditions",
            "triggerDates": _triggers(term_start),
            "termsAndConditions": {"renewalTerms": [{"period": days, "periodType": "Day"}]},
        },
        {
            "type": "RenewSubscription",
            "triggerDates": _triggers(term_start),
            "renewSubscription": {},
        },
        *await _amendment(catalog, before, checked, term_start, check_term=False),
    ]
    account = str(before["accountNumber"])
    await _place(api, clock, key, account, ref, checked, actions, request, "renew_subscription")
    return await read(api, ref)


async def set_auto_renew(
    api: ZuoraApi, clock: Clock, ref: str, auto_renew: bool, key: str
) -> BillingSubscriptionRecord:
    """Cancel (False: the service runs to the term end) or reactivate (True)."""
    operation = "reactivate_subscription" if auto_renew else "cancel_subscription"
    checks.key(key)
    if await _done(api, key, operation, {"ref": ref}) is not None:
        return await read(api, ref)
    before = await subscription_of(api, ref)
    if auto_renew and clock.today() >= mapping.day(before["termEndDate"]):
        raise ProviderRejected(PROVIDER, "subscription_ended", "the term has ended")
    action = {
        "type": "TermsAndConditions",
        "triggerDates": _triggers(clock.today()),
        "termsAndConditions": {"autoRenew": auto_renew},
    }
    account = str(before["accountNumber"])
    await _place(api, clock, key, account, ref, None, [action], {"ref": ref}, operation)
    return await read(api, ref)


# -- orders --------------------------------------------------------------------------------


async def _done(api: ZuoraApi, key: str, operation: str, request: Any) -> str | None:
    """The subscription number of the order already placed with `key` for this request;
    None when there is none; the key used for another request is refused."""
    checks.key(key)
    try:
        found = await api.get(f"/v1/orders/{order_number(key)}")
    except ProviderNotFound:
        return None
    order = found.get("order") or {}
    if (order.get("customFields") or {}).get(mapping.DIGEST) != digest(operation, request):
        raise ProviderRejected(
            PROVIDER, "idempotency_key_reused", "the key was used for another request"
        )
    numbers = [sub.get("subscriptionNumber") for sub in order.get("subscriptions") or []]
    return str(numbers[0]) if numbers else ""


async def _place(
    api: ZuoraApi,
    clock: Clock,
    key: str,
    account_ref: str,
    ref: str | None,
    items: Sequence[SubscriptionItem] | None,
    actions: list[Json],
    request: Any,
    operation: str,
) -> str:
    subscription: Json = {"orderActions": actions}
    if ref is not None:
        subscription["subscriptionNumber"] = ref
    if items is not None:
        subscription["customFields"] = {
            mapping.ITEM_ORDER: ",".join(item.product_code for item in items)
        }
    body = {
        "orderNumber": order_number(key),
        "orderDate": clock.today().isoformat(),
        "existingAccountNumber": account_ref,
        "customFields": {mapping.DIGEST: digest(operation, request)},
        "processingOptions": {"runBilling": False},
        "subscriptions": [subscription],
    }
    placed = await api.post("/v1/orders", body, key=key, ref=ref or account_ref)
    numbers = placed.get("subscriptionNumbers") or [ref]
    return str(numbers[0])


async def _amendment(
    catalog: Catalog,
    before: Json,
    items: Sequence[SubscriptionItem],
    effective: date,
    *,
    check_term: bool = True,
) -> list[Json]:
    """The order actions that make `items` the subscription's whole set from `effective`."""
    if check_term:
        start, end = mapping.day(before["termStartDate"]), mapping.day(before["termEndDate"])
        if not start <= effective < end:
            raise checks.invalid("effective date is outside the current term")
    current = {
        str(plan["productSku"]): plan
        for plan in before.get("ratePlans") or []
        if plan.get("lastChangeType") != "Remove"
    }
    have = {item.product_code: item for item in mapping.subscription(before).items}
    currency = str(before.get("currency") or "USD")
    entries = await catalog.entries(
        [item.product_code for item in items if item.product_code not in current]
    )
    triggers = _triggers(effective)
    actions: list[Json] = []
    for item in items:
        plan = current.get(item.product_code)
        if plan is None:
            actions.append(
                {
                    "type": "AddProduct",
                    "triggerDates": triggers,
                    "addProduct": _rate_plan(entries[item.product_code], item, currency),
                }
            )
        elif have.get(item.product_code) != item:
            charge = (plan.get("ratePlanCharges") or [{}])[0]
            update = {
                "ratePlanId": plan["id"],
                "chargeUpdates": [
                    {"chargeNumber": charge.get("number"), "pricing": _pricing(item, currency)}
                ],
            }
            actions.append(
                {"type": "UpdateProduct", "triggerDates": triggers, "updateProduct": update}
            )
    wanted = {item.product_code for item in items}
    actions += [
        {
            "type": "RemoveProduct",
            "triggerDates": triggers,
            "removeProduct": {"ratePlanId": plan["id"]},
        }
        for code, plan in current.items()
        if code not in wanted
    ]
    return actions


def _rate_plan(entry: CatalogEntry, item: SubscriptionItem, currency: str) -> Json:
    return {
        "productRatePlanId": entry.rate_plan_id,
        "chargeOverrides": [
            {"productRatePlanChargeId": entry.charge_id, "pricing": _pricing(item, currency)}
        ],
    }


def _pricing(item: SubscriptionItem, currency: str) -> Json:
    return {
        "recurringPerUnit": {
            "quantity": item.quantity,
            "listPrice": mapping.major(item.unit_amount, currency),
        }
    }


def _triggers(on: date) -> list[Json]:
    return [{"name": name, "triggerDate": on.isoformat()} for name in _TRIGGERS]


def _items(items: Sequence[SubscriptionItem]) -> list[dict[str, Any]]:
    return [asdict(item) for item in items]


def _term_request(
    ref: str, term_start: date, term_end: date, items: Sequence[SubscriptionItem]
) -> Any:
    return {
        "ref": ref,
        "term_start": term_start.isoformat(),
        "term_end": term_end.isoformat(),
        "items": _items(items),
    }
