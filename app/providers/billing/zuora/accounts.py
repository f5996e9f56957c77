"""Accounts are Zuora customer accounts (the ref is the account number), with the email on
the bill-to contact. They are created with `autoPay` off and in `batch` (ZuoraSettings): a
bill-run batch no scheduled bill run includes, so Zuora never invoices or charges on its
own; the app charges through its own standalone invoices (invoices.py).

A payment method is a CreditCardReferenceTransaction whose tokenId is the caller's gateway
token (the test tokens are the Stripe gateway's), made the account's default
(`makeDefault`); the record's payment_method is the default method's tokenId. Given with a
new account, it is created inside `POST /v1/accounts`, so a refused card leaves no account
behind. Zuora verifies the card at creation: a refusal of category 30 (the gateway declined
the verification) is "card_declined", one of category 20 (a token the gateway does not
know) "invalid_payment_method"; the old default stays.

Batch reads: one GET per account (and one for its default payment method), a few at a
time. ZOQL (`POST /v1/action/query`) could select many accounts at once, but the email lives
on the Contact object and the token on the PaymentMethod, so it would take three queries and
their joining for what two concurrent GETs answer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from app.providers.billing.records import BillingAccountRecord, NewAccount
from app.providers.billing.zuora import checks, mapping
from app.providers.billing.zuora.client import Json, ZuoraApi

CARD_REFUSALS = {"20": "invalid_payment_method", "30": "card_declined"}
BATCH = "Batch50"


def card(token: str) -> dict[str, Any]:
    return {"type": "CreditCardReferenceTransaction", "tokenId": token}


async def get_accounts(api: ZuoraApi, refs: Sequence[str]) -> Mapping[str, BillingAccountRecord]:
    return await api.read_each(refs, lambda ref: read_account(api, ref))


async def read_account(api: ZuoraApi, ref: str) -> BillingAccountRecord:
    found = await account_of(api, ref)
    return mapping.account(found, await default_token(api, found))


async def account_of(api: ZuoraApi, ref: str) -> Json:
    return await api.get(f"/v1/accounts/{ref}", ref=ref)


async def default_token(api: ZuoraApi, found: Json) -> str | None:
    method_id = (found.get("basicInfo") or {}).get("defaultPaymentMethodId")
    if not method_id:
        return None
    method = await api.get(f"/v1/payment-methods/{method_id}")
    return str(method.get("tokenId") or "") or None


async def create_account(api: ZuoraApi, account: NewAccount, key: str) -> BillingAccountRecord:
    checks.new_account(account)
    checks.key(key)
    body: dict[str, Any] = {
        "name": account.name,
        "currency": account.currency,
        "billCycleDay": 1,
        "autoPay": False,
        "batch": BATCH,
        "billToContact": {
            "firstName": "Billing",
            "lastName": account.name,
            "workEmail": account.email,
        },
    }
    if account.country is not None:
        body["billToContact"]["country"] = account.country
    if account.tax_id is not None:
        body["taxInfo"] = {"VATId": account.tax_id}
    if account.payment_method is not None:
        body["paymentMethod"] = {**card(account.payment_method), "makeDefault": True}
    created = await api.post("/v1/accounts", body, key=key, refusals=CARD_REFUSALS)
    return await read_account(api, str(created["accountNumber"]))


async def set_payment_method(
    api: ZuoraApi, account_ref: str, payment_method: str, key: str
) -> BillingAccountRecord:
    checks.payment_method(payment_method)
    checks.key(key)
    await api.post(
        "/v1/payment-methods",
        {"accountKey": account_ref, **card(payment_method), "makeDefault": True},
        key=key,
        ref=account_ref,
        refusals=CARD_REFUSALS,
    )
    return await read_account(api, account_ref)
