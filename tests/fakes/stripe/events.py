"""Events: what happened, as Stripe Event objects (evt_ ids), listed newest first at
GET /v1/events; `deliver_events` POSTs them to a webhook URL, signed as Stripe signs them."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING

import aiohttp

from tests.fakes.stripe.signing import signature_header
from tests.fakes.stripe.store import Obj, expand, page

if TYPE_CHECKING:
    from tests.fakes.stripe.server import Call, Router
    from tests.fakes.stripe.store import Store


def register(router: Router) -> None:
    router.get("/v1/events", list_events)
    router.get("/v1/events/{id}", retrieve_event)


def list_events(call: Call) -> Obj:
    found = list(reversed(call.store.events))
    if "type" in call.params:
        found = [event for event in found if event["type"] == call.params["type"]]
    return expand(call.store, page(found, call.params, "/v1/events"), call.expand)


def retrieve_event(call: Call) -> Obj:
    for event in call.store.events:
        if event["id"] == call.ids["id"]:
            return event
    return call.store.get("event", call.ids["id"], object="event")


async def deliver_events(
    store: Store, url: str, secret: str, events: list[Obj] | None = None
) -> list[int]:
    """POST each event (all recorded ones, oldest first, by default) with a Stripe-Signature
    header; the HTTP status of each delivery. Signed at the wall clock's time, as Stripe signs
    at delivery (a receiver checks freshness against its real time, not the fake's clock)."""
    statuses = []
    async with aiohttp.ClientSession() as session:
        for event in store.events if events is None else events:
            payload = json.dumps(event).encode()
            header = signature_header(payload, secret, int(time.time()))
            async with session.post(
                url,
                data=payload,
                headers={"Content-Type": "application/json", "Stripe-Signature": header},
            ) as response:
                statuses.append(response.status)
    return statuses
