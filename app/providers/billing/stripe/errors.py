"""Every SDK error becomes one of app/providers/errors.py's types.

- no answer (connection error, timeout, dropped connection), a 5xx, a 409 or a 429:
  `ProviderUnavailable`; the same request may succeed later with the same key. A 429 whose
  Retry-After is short is waited out and tried once more first.
- `resource_missing`: `ProviderNotFound` (a payment method: "invalid_payment_method").
- an Idempotency-Key used for another request (400 `idempotency_error`):
  `ProviderRejected("idempotency_key_reused")`.
- a card refused outside a charge (402 at attach): its code, e.g. "card_declined" (the
  decline code in the message).
- any other 4xx: `ProviderRejected` with a neutral code (`_CODES`, else "invalid_request").
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import TypeVar

import stripe

from app.providers.errors import (
    ProviderError,
    ProviderNotFound,
    ProviderRejected,
    ProviderUnavailable,
)

PROVIDER = "stripe"
T = TypeVar("T")

# Stripe error codes -> the protocol's neutral codes.
_CODES: Mapping[str, str] = {
    "amount_too_large": "refund_exceeds_payment",
    "charge_already_refunded": "refund_exceeds_payment",
    "charge_not_refundable": "payment_not_refundable",
    "invoice_not_editable": "invoice_not_open",
    "payment_method_unexpected_state": "invalid_payment_method",
}


async def call(request: Callable[[], Awaitable[T]], *, max_retry_after: float) -> T:
    """Run one SDK request, translating its errors; a 429 whose Retry-After is at most
    `max_retry_after` seconds is waited out and sent once more."""
    try:
        return await request()
    except stripe.RateLimitError as error:
        wait = retry_after(error)
        if wait is None or wait > max_retry_after:
            raise translate(error) from error
        await asyncio.sleep(wait)
    except stripe.StripeError as error:
        raise translate(error) from error
    return await _translated(request)


async def _translated(request: Callable[[], Awaitable[T]]) -> T:
    try:
        return await request()
    except stripe.StripeError as error:
        raise translate(error) from error


def retry_after(error: stripe.StripeError) -> float | None:
    headers = error.headers or {}
    value = headers.get("Retry-After") or headers.get("retry-after")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def translate(error: stripe.StripeError) -> ProviderError:
    status = error.http_status or 0
    detail = error.error
    code = (detail.code if detail is not None else None) or error.code
    message = error.user_message or type(error).__name__
    if isinstance(error, stripe.APIConnectionError) or status in (409, 429) or status >= 500:
        wait = retry_after(error)
        after = f" (retry after {wait:g} s)" if wait is not None else ""
        return ProviderUnavailable(PROVIDER, f"{message}{after}")
    if isinstance(error, stripe.IdempotencyError):
        return ProviderRejected(PROVIDER, "idempotency_key_reused", message)
    if code == "resource_missing":
        param = detail.param if detail is not None else None
        if param == "payment_method":
            return ProviderRejected(PROVIDER, "invalid_payment_method", message)
        return ProviderNotFound(PROVIDER, message, ref=_missing_ref(message))
    if isinstance(error, stripe.CardError):
        decline = detail.decline_code if detail is not None else None
        return ProviderRejected(PROVIDER, code or "card_declined", f"{decline}: {message}")
    if isinstance(error, stripe.AuthenticationError | stripe.PermissionError):
        return ProviderRejected(PROVIDER, "not_authorized", message)
    return ProviderRejected(PROVIDER, _CODES.get(code or "", "invalid_request"), message)


def _missing_ref(message: str) -> str | None:
    """Stripe says "No such invoice: 'in_123'"; the quoted id is the ref."""
    _, quote, rest = message.partition("'")
    return rest.partition("'")[0] if quote and "'" in rest else None
