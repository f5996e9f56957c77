"""Accounts (`POST /v1/accounts`, `GET /v1/accounts/{key}`) and payment methods
(`POST /v1/payment-methods`, `GET /v1/payment-methods/{id}`).

A CreditCardReferenceTransaction is verified at the gateway when it is created: a token the
gateway does not know is refused with category 20, one whose verification fails with
category 30. An account created with a payment method that is refused is not created.
"""

from __future__ import annotations

from typing import Any

from tests.fakes.zuora.store import (
    DECLINED_AT_CHARGE,
    GOOD_TOKENS,
    REFUSED_AT_VERIFICATION,
    Call,
    Obj,
    Router,
    Store,
    ZuoraFault,
    invalid,
    not_found,
)


def register(router: Router) -> None:
    router.post("/v1/accounts", create_account)
    router.get("/v1/accounts/{key}", get_account)
    router.post("/v1/payment-methods", create_payment_method)
    router.get("/v1/payment-methods/{id}", get_payment_method)


def create_account(call: Call) -> Obj:
    body, store = call.body, call.store
    contact = body.get("billToContact") or {}
    if not body.get("name") or not body.get("currency") or not contact.get("workEmail"):
        raise ZuoraFault(50000022, "name, currency and billToContact.workEmail are required")
    method = body.get("paymentMethod")
    if method is not None:
        verify(method)
    number = store.next_number("A", store.accounts)
    account = {
        "id": store.new_id(),
        "accountNumber": number,
        "name": body["name"],
        "currency": body["currency"],
        "workEmail": contact["workEmail"],
        "batch": body.get("batch", "Batch1"),
        "autoPay": bool(body.get("autoPay")),
        "defaultPaymentMethodId": None,
    }
    store.accounts[number] = account
    answer: Obj = {"success": True, "accountId": account["id"], "accountNumber": number}
    if method is not None:
        created = _add_method(store, account, method, make_default=True)
        answer["paymentMethodId"] = created["id"]
    return answer


def get_account(call: Call) -> Obj:
    account = call.store.find(call.store.accounts, call.ids["key"], "account")
    return {
        "success": True,
        "basicInfo": {
            "id": account["id"],
            "accountNumber": account["accountNumber"],
            "name": account["name"],
            "batch": account["batch"],
            "status": "Active",
            "defaultPaymentMethodId": account["defaultPaymentMethodId"],
        },
        "billingAndPayment": {
            "currency": account["currency"],
            "billCycleDay": 1,
            "autoPay": account["autoPay"],
        },
        "billToContact": {"workEmail": account["workEmail"]},
    }


def create_payment_method(call: Call) -> Obj:
    store, body = call.store, call.body
    key = str(body.get("accountKey") or body.get("accountId") or "")
    account = store.find(store.accounts, key, "account")
    verify(body)
    created = _add_method(store, account, body, make_default=bool(body.get("makeDefault")))
    return {"success": True, "id": created["id"]}


def get_payment_method(call: Call) -> Obj:
    method = call.store.payment_methods.get(call.ids["id"])
    if method is None:
        raise not_found("payment method", call.ids["id"])
    return {"success": True, **method}


def verify(method: Any) -> None:
    if not isinstance(method, dict) or method.get("type") != "CreditCardReferenceTransaction":
        raise invalid("paymentMethod.type must be CreditCardReferenceTransaction")
    token = str(method.get("tokenId") or "")
    if token in REFUSED_AT_VERIFICATION:
        raise ZuoraFault(53000030, "Transaction declined. card_declined - Your card was declined.")
    if token not in GOOD_TOKENS and token not in DECLINED_AT_CHARGE:
        raise ZuoraFault(53000020, f"Invalid value for tokenId: {token}.")


def _add_method(store: Store, account: Obj, method: Obj, *, make_default: bool) -> Obj:
    created = {
        "id": store.new_id(),
        "accountId": account["id"],
        "type": "CreditCardReferenceTransaction",
        "tokenId": method["tokenId"],
        "status": "Active",
    }
    store.payment_methods[created["id"]] = created
    if make_default:
        account["defaultPaymentMethodId"] = created["id"]
    return created
