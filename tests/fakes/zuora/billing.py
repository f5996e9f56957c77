"""Standalone invoices, payments applied to them, and refunds.

- `POST /v1/invoices`: issued today (no invoiceDate taken), due on max(dueDate, today); its
  amount is the sum of its items, which may be negative (credits). A zero invoice has a
  zero balance. `PUT /v1/invoices/{key}/cancel` cancels a Posted invoice nothing was paid
  on (category 30 otherwise).
- `POST /v1/payments` (Electronic, one invoice): the payment method is charged at its
  gateway. A declined charge is kept as a payment in status "Error" with the gateway's
  response code and applied to nothing (the answer is success: true: the request was
  processed, the gateway said no). An amount beyond the invoice's balance, or on a
  cancelled invoice, is refused with category 30.
- `POST /v1/payments/{key}/refunds` (`totalAmount`): a Processed payment, up to what is left.
"""

from __future__ import annotations

import copy
from datetime import date
from decimal import Decimal

from tests.fakes.zuora.store import (
    DECLINED_AT_CHARGE,
    Call,
    Obj,
    Router,
    ZuoraFault,
    invalid,
    money,
    number,
    restricted,
)

SUBSCRIPTION = "SubscriptionNumber__c"
INVOICE = "InvoiceNumber__c"


def register(router: Router) -> None:
    router.post("/v1/invoices", create_invoice)
    router.get("/v1/invoices/{key}", get_invoice)
    router.get("/v1/invoices/{key}/items", get_items)
    router.put("/v1/invoices/{key}/cancel", cancel_invoice)
    router.post("/v1/payments", create_payment)
    router.get("/v1/payments/{key}", get_payment)
    router.get("/v1/transactions/payments/accounts/{key}", account_payments)
    router.post("/v1/payments/{key}/refunds", refund_payment)


def create_invoice(call: Call) -> Obj:
    store, body = call.store, call.body
    key = str(body.get("accountNumber") or body.get("accountId") or "")
    account = store.find(store.accounts, key, "account")
    given = body.get("invoiceItems") or []
    if not given:
        raise ZuoraFault(50000022, "invoiceItems is required")
    today = store.today()
    due = date.fromisoformat(str(body.get("dueDate") or today.isoformat()))
    items = [
        {
            "id": store.new_id(),
            "chargeAmount": number(money(item["amount"])),
            "quantity": item.get("quantity", 1),
            "unitPrice": item.get("unitPrice", item["amount"]),
            "description": item.get("description"),
            "sku": item.get("sku"),
            "serviceStartDate": item.get("serviceStartDate"),
            "serviceEndDate": item.get("serviceEndDate"),
        }
        for item in given
    ]
    total = sum((money(item["chargeAmount"]) for item in items), Decimal(0))
    if total < 0:
        raise invalid("the invoice amount cannot be negative")
    number_ = store.next_number("INV", store.invoices)
    invoice = {
        "id": store.new_id(),
        "invoiceNumber": number_,
        "accountId": account["id"],
        "accountNumber": account["accountNumber"],
        "currency": account["currency"],
        "amount": number(total),
        "balance": number(total),
        "status": "Posted",
        "invoiceDate": today.isoformat(),
        "dueDate": max(due, today).isoformat(),
        SUBSCRIPTION: body.get(SUBSCRIPTION),
        "items": items,
    }
    store.invoices[number_] = invoice
    return {"success": True, **_public(invoice)}


def _public(invoice: Obj) -> Obj:
    return {key: copy.deepcopy(value) for key, value in invoice.items() if key != "items"}


def get_invoice(call: Call) -> Obj:
    invoice = call.store.find(call.store.invoices, call.ids["key"], "invoice")
    return {"success": True, **_public(invoice)}


def get_items(call: Call) -> Obj:
    invoice = call.store.find(call.store.invoices, call.ids["key"], "invoice")
    return {"success": True, "invoiceItems": copy.deepcopy(invoice["items"])}


def cancel_invoice(call: Call) -> Obj:
    invoice = call.store.find(call.store.invoices, call.ids["key"], "invoice")
    if invoice["status"] != "Posted" or invoice["balance"] != invoice["amount"]:
        raise restricted("Only a posted invoice with no payment applied can be canceled.")
    invoice["status"] = "Canceled"
    return {"success": True, "id": invoice["id"]}


def create_payment(call: Call) -> Obj:
    store, body = call.store, call.body
    account = next((a for a in store.accounts.values() if a["id"] == body.get("accountId")), None)
    if account is None:
        raise ZuoraFault(50000040, f"Cannot find account by key: '{body.get('accountId')}'.")
    method = store.payment_methods.get(str(body.get("paymentMethodId")))
    if method is None or method["accountId"] != account["id"]:
        raise ZuoraFault(50000040, "Cannot find the payment method of the account.")
    applied = (body.get("invoices") or [{}])[0]
    invoice = store.find(store.invoices, str(applied.get("invoiceId")), "invoice")
    amount = money(body.get("amount") or 0)
    if invoice["status"] != "Posted" or amount > money(invoice["balance"]) or amount <= 0:
        raise restricted("The applied amount is more than the balance of the invoice.")
    decline = DECLINED_AT_CHARGE.get(method["tokenId"])
    number_ = store.next_number("P-", store.payments)
    payment = {
        "id": store.new_id(),
        "number": number_,
        "accountId": account["id"],
        "amount": number(amount),
        "currency": body.get("currency") or account["currency"],
        "paymentMethodId": method["id"],
        "type": "Electronic",
        "status": "Error" if decline else "Processed",
        "gatewayResponseCode": decline or "approve",
        "gatewayResponse": "Your card was declined." if decline else "Approved",
        "appliedAmount": 0.0 if decline else number(amount),
        "refundAmount": 0.0,
        "effectiveDate": store.today().isoformat(),
        INVOICE: body.get(INVOICE),
    }
    if not decline:
        invoice["balance"] = number(money(invoice["balance"]) - amount)
    store.payments[number_] = payment
    return {"success": True, **copy.deepcopy(payment)}


def get_payment(call: Call) -> Obj:
    payment = call.store.find(call.store.payments, call.ids["key"], "payment")
    return {"success": True, **copy.deepcopy(payment)}


def account_payments(call: Call) -> Obj:
    account = call.store.find(call.store.accounts, call.ids["key"], "account")
    payments = [p for p in call.store.payments.values() if p["accountId"] == account["id"]]
    return {"success": True, "payments": copy.deepcopy(payments)}


def refund_payment(call: Call) -> Obj:
    store = call.store
    payment = store.find(store.payments, call.ids["key"], "payment")
    amount = money(call.body.get("totalAmount") or 0)
    if payment["status"] != "Processed":
        raise restricted("Only a processed payment can be refunded.")
    left = money(payment["amount"]) - money(payment["refundAmount"])
    if amount <= 0 or amount > left:
        raise restricted("The refund amount is more than the unrefunded amount of the payment.")
    payment["refundAmount"] = number(money(payment["refundAmount"]) + amount)
    number_ = store.next_number("R-", store.refunds)
    refund = {
        "id": store.new_id(),
        "number": number_,
        "amount": number(amount),
        "paymentId": payment["id"],
        "status": "Processed",
        "type": "Electronic",
    }
    store.refunds[number_] = refund
    return {"success": True, **copy.deepcopy(refund)}
