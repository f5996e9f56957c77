"""POST /webhooks/stripe: Stripe's event deliveries, verified and stored once, answered
202 at once (a replay of an event id: 200); the worker does the rest (app/services/inbound).

404 while STRIPE_WEBHOOK_SECRET is unset. A body over MAX_WEBHOOK_BYTES, a missing, wrong or
stale signature, or a body that is not an event: 400 with a typed error, nothing stored.
(A body over MAX_BODY_BYTES is refused with 413 before it gets here, as on every route.)"""

from __future__ import annotations

import logging
from enum import StrEnum

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, request_response

from app.config import Settings
from app.db.unit_of_work import unit_of_work
from app.http import stripe_events
from app.http.errors import error_body
from app.http.time_limit import TimeLimit
from app.runtime import Runtime
from app.services.inbound.events import receive

log = logging.getLogger("fulfillment.http.webhooks")

MAX_WEBHOOK_BYTES = 256 * 1024  # Stripe's events are far smaller


class WebhookErrorCode(StrEnum):
    NOT_FOUND = "NOT_FOUND"
    PAYLOAD_TOO_LARGE = "PAYLOAD_TOO_LARGE"
    SIGNATURE_INVALID = "SIGNATURE_INVALID"
    PAYLOAD_INVALID = "PAYLOAD_INVALID"


def stripe_route(settings: Settings) -> Route:
    """The route, under the same time limit as /graphql."""
    endpoint = TimeLimit(request_response(stripe_webhook), settings.request_timeout_seconds)
    return Route("/webhooks/stripe", endpoint, methods=["POST"])


async def stripe_webhook(request: Request) -> Response:
    runtime: Runtime = request.app.state.runtime
    secret = runtime.settings.stripe_webhook_secret
    if not secret:
        return _error(404, WebhookErrorCode.NOT_FOUND, "Not Found.")
    body = await _body(request, MAX_WEBHOOK_BYTES)
    if body is None:
        message = f"A webhook body is at most {MAX_WEBHOOK_BYTES} bytes."
        return _error(400, WebhookErrorCode.PAYLOAD_TOO_LARGE, message)
    try:
        delivery = stripe_events.delivery(body, request.headers.get("stripe-signature"), secret)
    except stripe_events.Refused as refused:
        log.warning("Stripe webhook refused: %s (%s)", refused.code, refused.message)
        return _error(400, WebhookErrorCode(refused.code), refused.message)
    async with unit_of_work(runtime.sessions) as session:
        new = await receive(session, delivery, runtime.clock.now())
    answer = {"received": True, "eventId": delivery.event_id, "duplicate": not new}
    return JSONResponse(answer, status_code=202 if new else 200)


async def _body(request: Request, limit: int) -> bytes | None:
    """The body, or None as soon as it is known to be longer than `limit`."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _error(status: int, code: WebhookErrorCode, message: str) -> Response:
    return Response(error_body(code.value, message), status, media_type="application/json")
