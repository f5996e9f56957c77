"""PaymentIntents (made by finalized invoices), Charges and Refunds. A PaymentMethod attached
from "pm_card_chargeCustomerFail" declines every charge (card_declined, generic_decline)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tests.fakes.stripe.store import (
    Obj,
    expand,
    integer,
    invalid,
    merge_metadata,
    page,
    refused,
)

if TYPE_CHECKING:
    from tests.fakes.stripe.server import Call, Router


def register(router: Router) -> None:
    router.get("/v1/payment_intents/{id}", retrieve_intent)
    router.get("/v1/charges", list_charges)
    router.get("/v1/charges/{id}", retrieve_charge)
    router.post("/v1/charges/{id}", update_charge)
    router.post("/v1/refunds", create_refund)
    router.get("/v1/refunds/{id}", retrieve_refund)


def new_intent(call: Call, inv: Obj) -> Obj:
    return call.store.add(
        {
            "id": call.store.new_id("pi"),
            "object": "payment_intent",
            "amount": inv["amount_due"],
            "amount_received": 0,
            "capture_method": "automatic",
            "created": call.store.now(),
            "currency": inv["currency"],
            "customer": inv["customer"],
            "description": None,
            "last_payment_error": None,
            "latest_charge": None,
            "livemode": False,
            "metadata": {},
            "payment_method": None,
            "payment_method_types": ["card"],
            "status": "requires_payment_method",
        }
    )


def charge(call: Call, intent: Obj, method: Obj) -> Obj:
    """Charge the intent's amount to `method`: succeeded, or failed as the card declines."""
    decline = call.store.declines.get(method["id"])
    succeeded = decline is None
    made = call.store.add(
        {
            "id": call.store.new_id("ch"),
            "object": "charge",
            "amount": intent["amount"],
            "amount_captured": intent["amount"] if succeeded else 0,
            "amount_refunded": 0,
            "balance_transaction": None,
            "billing_details": method["billing_details"],
            "captured": succeeded,
            "created": call.store.now(),
            "currency": intent["currency"],
            "customer": intent["customer"],
            "description": None,
            "disputed": False,
            "failure_code": None if succeeded else "card_declined",
            "failure_message": None if succeeded else "Your card was declined.",
            "livemode": False,
            "metadata": {},
            "outcome": {
                "network_status": "approved_by_network" if succeeded else "declined_by_network",
                "reason": decline,
                "risk_level": "normal",
                "seller_message": "Payment complete." if succeeded else "The bank declined.",
                "type": "authorized" if succeeded else "issuer_declined",
            },
            "paid": succeeded,
            "payment_intent": intent["id"],
            "payment_method": method["id"],
            "payment_method_details": {"type": "card", "card": dict(method["card"])},
            "refunded": False,
            "status": "succeeded" if succeeded else "failed",
        }
    )
    intent["latest_charge"] = made["id"]
    intent["payment_method"] = method["id"]
    if succeeded:
        intent["status"], intent["amount_received"] = "succeeded", intent["amount"]
        call.store.emit("charge.succeeded", made)
        call.store.emit("payment_intent.succeeded", intent)
    else:
        intent["status"] = "requires_payment_method"
        intent["last_payment_error"] = {
            "type": "card_error",
            "code": "card_declined",
            "decline_code": decline,
            "charge": made["id"],
            "message": "Your card was declined.",
        }
        call.store.emit("charge.failed", made)
        call.store.emit("payment_intent.payment_failed", intent)
    return made


def retrieve_intent(call: Call) -> Obj:
    intent = call.store.get("payment_intent", call.ids["id"], object="payment_intent")
    return expand(call.store, intent, call.expand)


def list_charges(call: Call) -> Obj:
    found = list(reversed(call.store.all("charge")))  # newest first
    for field in ("payment_intent", "customer"):
        if field in call.params:
            found = [made for made in found if made[field] == call.params[field]]
    return expand(call.store, page(found, call.params, "/v1/charges"), call.expand)


def retrieve_charge(call: Call) -> Obj:
    made = call.store.get("charge", call.ids["id"], object="charge")
    return expand(call.store, made, call.expand)


def update_charge(call: Call) -> Obj:
    made = call.store.get("charge", call.ids["id"], object="charge")
    merge_metadata(made, call.params.get("metadata"))
    return expand(call.store, made, call.expand)


def create_refund(call: Call) -> Obj:
    p = call.params
    if p.get("charge"):
        made = call.store.get("charge", p["charge"], object="charge", param="charge", status=400)
    elif p.get("payment_intent"):
        intent = call.store.get(
            "payment_intent",
            p["payment_intent"],
            object="payment_intent",
            param="payment_intent",
            status=400,
        )
        made = call.store.objects[intent["latest_charge"] or ""]
    else:
        raise invalid("One of charge or payment_intent is required.", "charge")
    if made["status"] != "succeeded":
        raise refused(
            f"Charge {made['id']} has failed and cannot be refunded.", "charge_not_refundable"
        )
    left = made["amount"] - made["amount_refunded"]
    if left == 0:
        raise refused(f"Charge {made['id']} has already been refunded.", "charge_already_refunded")
    amount = integer(p, "amount")
    amount = left if amount is None else amount
    if amount <= 0:
        raise invalid("Invalid positive integer", "amount")
    if amount > left:
        raise refused(
            f"Refund amount ({amount}) is greater than unrefunded amount on charge ({left})",
            "amount_too_large",
            "amount",
        )
    made["amount_refunded"] += amount
    made["refunded"] = made["amount_refunded"] == made["amount"]
    refund = call.store.add(
        {
            "id": call.store.new_id("re"),
            "object": "refund",
            "amount": amount,
            "balance_transaction": None,
            "charge": made["id"],
            "created": call.store.now(),
            "currency": made["currency"],
            "metadata": {},
            "payment_intent": made["payment_intent"],
            "reason": p.get("reason"),
            "receipt_number": None,
            "status": "succeeded",
        }
    )
    merge_metadata(refund, p.get("metadata"))
    call.store.emit("refund.created", refund)
    call.store.emit("charge.refunded", made)
    return refund


def retrieve_refund(call: Call) -> Obj:
    return call.store.get("refund", call.ids["id"], object="refund")
