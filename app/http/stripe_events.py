"""Stripe's side of webhooks in: the `Stripe-Signature` check (the official SDK's, HMAC-SHA256
over "<t>.<body>", at most 300 s old) and the reading of an event into a neutral `Delivery`:
which local copy it is about (`ObjectKind`) and the Stripe id of that object, which is the
local row's provider_ref. Nothing else of the event is used: the worker reads the object's
current state from the billing provider."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import orjson
from stripe import SignatureVerificationError, WebhookSignature

from app.services.inbound.events import Delivery, ObjectKind

PROVIDER = "stripe"
TOLERANCE_SECONDS = 300
MAX_ID_LENGTH = 255  # Stripe's ids are at most 255 characters
MAX_TYPE_LENGTH = 128


class Refused(Exception):
    """Not a delivery to act on: answered 400 with `code`, nothing stored."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


RefOf = Callable[[dict[str, Any], dict[str, Any]], object]


def _own_id(obj: dict[str, Any], data: dict[str, Any]) -> object:
    return obj.get("id")


def _customer(obj: dict[str, Any], data: dict[str, Any]) -> object:
    """A payment method's customer (before it was detached, the event's previous value)."""
    previous = data.get("previous_attributes")
    before = previous.get("customer") if isinstance(previous, dict) else None
    return obj.get("customer") or before


_INVOICE = (ObjectKind.INVOICE, _own_id)
_CUSTOMER = (ObjectKind.ACCOUNT, _own_id)
_PAYMENT_METHOD = (ObjectKind.ACCOUNT, _customer)
_SUBSCRIPTION = (ObjectKind.SUBSCRIPTION, _own_id)

# Event types acted on; any other type is stored and processed as a no-op.
KINDS: Mapping[str, tuple[ObjectKind, RefOf]] = {
    "invoice.paid": _INVOICE,
    "invoice.payment_succeeded": _INVOICE,
    "invoice.payment_failed": _INVOICE,
    "invoice.voided": _INVOICE,
    "invoice.marked_uncollectible": _INVOICE,
    "customer.updated": _CUSTOMER,
    "payment_method.attached": _PAYMENT_METHOD,
    "payment_method.detached": _PAYMENT_METHOD,
    "payment_method.updated": _PAYMENT_METHOD,
    "payment_method.automatically_updated": _PAYMENT_METHOD,
    "customer.subscription.updated": _SUBSCRIPTION,
    "customer.subscription.deleted": _SUBSCRIPTION,
}


def delivery(body: bytes, signature: str | None, secret: str) -> Delivery:
    """The verified event in `body`; raises Refused for a missing, wrong or stale signature
    (checked before the body is parsed) and for a body that is not a Stripe event."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise Refused("PAYLOAD_INVALID", "The body is not UTF-8.") from None
    try:
        WebhookSignature.verify_header(text, signature, secret, TOLERANCE_SECONDS)
    except SignatureVerificationError:
        raise Refused(
            "SIGNATURE_INVALID", "The Stripe-Signature header is missing, wrong or too old."
        ) from None
    return read(text)


def read(text: str) -> Delivery:
    try:
        event = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise Refused("PAYLOAD_INVALID", "The body is not JSON.") from None
    if not isinstance(event, dict):
        raise Refused("PAYLOAD_INVALID", "The body is not a JSON object.")
    event_id, event_type, data = event.get("id"), event.get("type"), event.get("data")
    if not _text(event_id, MAX_ID_LENGTH) or not _text(event_type, MAX_TYPE_LENGTH):
        raise Refused("PAYLOAD_INVALID", "An event needs an `id` and a `type`.")
    obj = data.get("object") if isinstance(data, dict) else None
    if not isinstance(data, dict) or not isinstance(obj, dict):
        raise Refused("PAYLOAD_INVALID", "An event needs a `data.object`.")
    assert isinstance(event_id, str) and isinstance(event_type, str)
    kind, ref = None, None
    if event_type in KINDS:
        found_kind, ref_of = KINDS[event_type]
        found_ref = ref_of(obj, data)
        if _text(found_ref, MAX_ID_LENGTH):
            assert isinstance(found_ref, str)
            kind, ref = found_kind, found_ref
    return Delivery(PROVIDER, event_id, event_type, kind, ref)


def _text(value: object, max_length: int) -> bool:
    return isinstance(value, str) and 0 < len(value) <= max_length
