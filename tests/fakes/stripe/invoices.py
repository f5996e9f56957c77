"""Invoices, invoice items, InvoicePayments and paying an invoice.

An invoice is made a draft; invoice items join it as lines (added after creation, so in
chronological order). Finalizing totals the lines: a total of 0 is paid at once; otherwise a
PaymentIntent and its InvoicePayment are made. Paying charges the PaymentMethod (the
customer's default when none is given): a decline answers 402 card_error with the failed
charge, and the invoice stays open. The first 10 lines are embedded (`lines.has_more`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tests.fakes.stripe import charges, customers
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


def register(router: Router) -> None:
    router.post("/v1/invoices", create)
    router.get("/v1/invoices/{id}", retrieve)
    router.post("/v1/invoices/{id}", update)
    router.get("/v1/invoices/{id}/lines", list_lines)
    router.post("/v1/invoices/{id}/finalize", finalize)
    router.post("/v1/invoices/{id}/pay", pay)
    router.post("/v1/invoices/{id}/void", void)
    router.post("/v1/invoiceitems", create_item)
    router.get("/v1/invoice_payments", list_payments)


def invoice(call: Call, ref: str, param: str | None = None, status: int = 404) -> Obj:
    return call.store.get("invoice", ref, object="invoice", param=param, status=status)


def create(call: Call) -> Obj:
    p = call.params
    cust = customers.customer(call, p.get("customer", ""), "customer", 400)
    now = call.store.now()  # the customer's test clock's time, if it has one
    method = p.get("collection_method", "charge_automatically")
    if method == "charge_automatically" and "due_date" in p:
        raise invalid("due_date is only for collection_method=send_invoice.", "due_date")
    inv: Obj = {
        "id": call.store.new_id("in"),
        "object": "invoice",
        "amount_due": 0,
        "amount_overpaid": 0,
        "amount_paid": 0,
        "amount_remaining": 0,
        "attempt_count": 0,
        "attempted": False,
        "auto_advance": flag(p.get("auto_advance", "true")),
        "collection_method": method,
        "created": now,
        "currency": str(p.get("currency") or cust.get("currency") or "usd").lower(),
        "customer": cust["id"],
        "customer_email": cust["email"],
        "customer_name": cust["name"],
        "default_payment_method": None,
        "description": p.get("description"),
        "discounts": [],
        "due_date": None,
        "effective_at": None,
        "ending_balance": None,
        "lines": [],
        "livemode": False,
        "metadata": {},
        "number": None,
        "parent": None,
        "period_end": now,
        "period_start": now,
        "starting_balance": 0,
        "status": "draft",
        "status_transitions": {
            "finalized_at": None,
            "marked_uncollectible_at": None,
            "paid_at": None,
            "voided_at": None,
        },
        "subtotal": 0,
        "total": 0,
        "total_taxes": [],
    }
    merge_metadata(inv, p.get("metadata"))
    call.store.add(inv)
    if p.get("pending_invoice_items_behavior", "include") != "exclude":
        for item in call.store.all("invoiceitem"):
            if item["customer"] == cust["id"] and item["invoice"] is None:
                _add_line(call, inv, item)
    call.store.emit("invoice.created", render(call, inv, []))
    return render(call, inv, call.expand)


def retrieve(call: Call) -> Obj:
    return render(call, invoice(call, call.ids["id"]), call.expand)


def update(call: Call) -> Obj:
    inv, p = invoice(call, call.ids["id"]), call.params
    previous = {"metadata": dict(inv["metadata"])}
    if set(p) - {"metadata", "expand", "description"} and inv["status"] != "draft":
        raise refused("Finalized invoices can't be updated in this way", "invoice_not_editable")
    if "auto_advance" in p:
        inv["auto_advance"] = flag(p["auto_advance"])
    if "description" in p:
        inv["description"] = p["description"]
    merge_metadata(inv, p.get("metadata"))
    call.store.emit("invoice.updated", render(call, inv, []), previous)
    return render(call, inv, call.expand)


def list_lines(call: Call) -> Obj:
    inv = invoice(call, call.ids["id"])
    lines = [call.store.objects[ref] for ref in inv["lines"]]
    return page(lines, call.params, f"/v1/invoices/{inv['id']}/lines")


def create_item(call: Call) -> Obj:
    p = call.params
    cust = customers.customer(call, p.get("customer", ""), "customer", 400)
    amount = integer(p, "amount", required=True)
    inv = None
    if p.get("invoice"):
        inv = invoice(call, p["invoice"], "invoice", 400)
        if inv["status"] != "draft":
            raise refused(
                "Invoice items can only be added to draft invoices.",
                "invoice_not_editable",
                "invoice",
            )
        if inv["customer"] != cust["id"]:
            raise invalid("The invoice belongs to another customer.", "invoice")
    currency = str(p.get("currency") or (inv or {}).get("currency") or "usd").lower()
    if inv is not None and currency != inv["currency"]:
        raise invalid("The currency of the invoice item must match the invoice's.", "currency")
    period = p.get("period") or {}
    now = call.store.now()
    start = integer(period, "start") or now
    end = integer(period, "end") or now
    if end < start:
        raise invalid("period[end] must be after period[start].", "period[end]")
    item = call.store.add(
        {
            "id": call.store.new_id("ii"),
            "object": "invoiceitem",
            "amount": amount,
            "currency": currency,
            "customer": cust["id"],
            "date": now,
            "description": p.get("description"),
            "discountable": amount is not None and amount >= 0,
            "invoice": None,
            "livemode": False,
            "metadata": {},
            "period": {"start": start, "end": end},
            "quantity": 1,
        }
    )
    merge_metadata(item, p.get("metadata"))
    if inv is not None:
        _add_line(call, inv, item)
    call.store.emit("invoiceitem.created", item)
    return item


def finalize(call: Call) -> Obj:
    inv, now = invoice(call, call.ids["id"]), call.store.now()
    if inv["status"] != "draft":
        raise refused("This invoice is already finalized.", "invoice_not_editable")
    if "auto_advance" in call.params:
        inv["auto_advance"] = flag(call.params["auto_advance"])
    inv["status"] = "open"
    inv["number"] = f"FAKE-{len(call.store.all('invoice')):04d}"
    inv["status_transitions"]["finalized_at"] = now
    inv["effective_at"] = now
    inv["ending_balance"] = 0
    call.store.emit("invoice.finalized", render(call, inv, []))
    if inv["amount_due"] == 0:
        _mark_paid(call, inv)
    else:
        intent = charges.new_intent(call, inv)
        call.store.add(
            {
                "id": call.store.new_id("inpay"),
                "object": "invoice_payment",
                "amount_paid": None,
                "amount_requested": inv["amount_due"],
                "created": now,
                "currency": inv["currency"],
                "invoice": inv["id"],
                "is_default": True,
                "livemode": False,
                "payment": {"type": "payment_intent", "payment_intent": intent["id"]},
                "status": "open",
                "status_transitions": {"canceled_at": None, "paid_at": None},
            }
        )
    return render(call, inv, call.expand)


def pay(call: Call) -> Obj:
    inv = invoice(call, call.ids["id"])
    if inv["status"] != "open":
        raise refused(f"You cannot pay an invoice that is {inv['status']}.", "invoice_not_open")
    cust = call.store.objects[inv["customer"]]
    method_ref = (
        call.params.get("payment_method") or cust["invoice_settings"]["default_payment_method"]
    )
    if not method_ref:
        raise refused("This customer has no attached payment source or default payment method.")
    method = call.store.objects.get(method_ref)
    if method is None or method.get("customer") != cust["id"]:
        raise invalid(
            f"No such PaymentMethod: '{method_ref}'", "payment_method", "resource_missing"
        )
    payment = _default_payment(call, inv)
    intent = call.store.objects[payment["payment"]["payment_intent"]]
    charge = charges.charge(call, intent, method)
    inv["attempt_count"] += 1
    inv["attempted"] = True
    if charge["status"] != "succeeded":
        call.store.emit("invoice.payment_failed", render(call, inv, []))
        raise StripeFault(
            402,
            "Your card was declined.",
            type="card_error",
            code=charge["failure_code"],
            decline_code=charge["outcome"]["reason"],
            extra={
                "charge": charge["id"],
                "payment_intent": dict(intent),
                "payment_method": dict(method),
            },
        )
    payment["amount_paid"] = inv["amount_due"]
    payment["status"] = "paid"
    payment["status_transitions"]["paid_at"] = call.store.now()
    _mark_paid(call, inv)
    return render(call, inv, call.expand)


def void(call: Call) -> Obj:
    inv = invoice(call, call.ids["id"])
    if inv["status"] != "open":
        raise refused(
            f"You can only void an open invoice, not a {inv['status']} one.", "invoice_not_open"
        )
    inv["status"] = "void"
    inv["status_transitions"]["voided_at"] = call.store.now()
    for payment in _payments_of(call, inv):
        payment["status"] = "canceled"
        payment["status_transitions"]["canceled_at"] = call.store.now()
        call.store.objects[payment["payment"]["payment_intent"]]["status"] = "canceled"
    call.store.emit("invoice.voided", render(call, inv, []))
    return render(call, inv, call.expand)


def list_payments(call: Call) -> Obj:
    p = call.params
    payments = list(reversed(call.store.all("invoice_payment")))
    if "invoice" in p:
        invoice(call, p["invoice"], "invoice", 404)
        payments = [payment for payment in payments if payment["invoice"] == p["invoice"]]
    wanted = (p.get("payment") or {}).get("payment_intent")
    if wanted:
        payments = [pay for pay in payments if pay["payment"].get("payment_intent") == wanted]
    if "status" in p:
        payments = [payment for payment in payments if payment["status"] == p["status"]]
    return expand(call.store, page(payments, p, "/v1/invoice_payments"), call.expand)


def render(call: Call, inv: Obj, paths: list[str]) -> Obj:
    lines = [call.store.objects[ref] for ref in inv["lines"]]
    shown = {
        **inv,
        "lines": list_of(lines[:10], f"/v1/invoices/{inv['id']}/lines", has_more=len(lines) > 10),
    }
    shown["lines"]["total_count"] = len(lines)
    if any(path == "payments" or path.startswith("payments.") for path in paths):
        shown["payments"] = list_of(list(_payments_of(call, inv)), "/v1/invoice_payments")
    return expand(call.store, shown, paths)


def _payments_of(call: Call, inv: Obj) -> list[Obj]:
    return [pay for pay in call.store.all("invoice_payment") if pay["invoice"] == inv["id"]]


def _default_payment(call: Call, inv: Obj) -> Obj:
    return next(pay for pay in _payments_of(call, inv) if pay["is_default"])


def _add_line(call: Call, inv: Obj, item: Obj) -> None:
    item["invoice"] = inv["id"]
    line = call.store.add(
        {
            "id": call.store.new_id("il"),
            "object": "line_item",
            "amount": item["amount"],
            "currency": item["currency"],
            "description": item["description"],
            "discount_amounts": [],
            "discountable": item["discountable"],
            "discounts": [],
            "invoice": inv["id"],
            "livemode": False,
            "metadata": dict(item["metadata"]),
            "parent": {
                "type": "invoice_item_details",
                "invoice_item_details": {
                    "invoice_item": item["id"],
                    "proration": False,
                    "proration_details": {"credited_items": None},
                    "subscription": None,
                },
                "subscription_item_details": None,
            },
            "period": dict(item["period"]),
            "pricing": None,
            "quantity": 1,
            "taxes": [],
        }
    )
    inv["lines"].append(line["id"])
    total = sum(call.store.objects[ref]["amount"] for ref in inv["lines"])
    inv["subtotal"] = inv["total"] = total
    inv["amount_due"] = inv["amount_remaining"] = max(total, 0)


def _mark_paid(call: Call, inv: Obj) -> None:
    inv["status"] = "paid"
    inv["amount_paid"] = inv["amount_due"]
    inv["amount_remaining"] = 0
    inv["status_transitions"]["paid_at"] = call.store.now()
    call.store.emit("invoice.paid", render(call, inv, []))
    call.store.emit("invoice.payment_succeeded", render(call, inv, []))
