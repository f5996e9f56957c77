"""Zuora answers -> app/providers/errors.py's types.

Zuora's v1 answers carry an 8-digit code per reason: a 6-digit resource code and a 2-digit
category (10 permission, 11 authentication, 20 invalid value, 21 unknown field, 22 missing
field, 30 rule restriction, 40 not found, 45 unsupported, 50 locking contention, 60 internal
error, 61 temporary error, 70 request limit, 90 malformed request). Many failures come back
as HTTP 200 with `"success": false` and `reasons: [{code, message}]`; those are read the
same way as a 4xx body.

- no answer (connection error, timeout, dropped connection), a 5xx, a 429 or the categories
  50, 60, 61 and 70: `ProviderUnavailable` (a 429's Retry-After is in the message);
- 409 on a request with an Idempotency-Key (the same key still in progress):
  `ProviderUnavailable`, the retry with the same key replays;
- 422 on a request with an Idempotency-Key (the key was used with another body):
  `ProviderRejected("idempotency_key_reused")`;
- category 40 or a 404: `ProviderNotFound`;
- categories 10 and 11 (after the one token refresh): `ProviderRejected("not_authorized")`;
- anything else: `ProviderRejected` with the neutral code the caller gives for its category
  (`refusals`, e.g. a payment method's 30 "card_declined"), else "invalid_request".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from app.providers.errors import (
    ProviderError,
    ProviderNotFound,
    ProviderRejected,
    ProviderUnavailable,
)

PROVIDER = "zuora"
_RETRYABLE = {"50", "60", "61", "70"}
_NOT_AUTHORIZED = {"10", "11"}
NOT_FOUND = "40"


def reasons(body: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The (code, message) pairs of an answer ("Errors" of a CRUD answer too)."""
    found: Sequence[Any] = body.get("reasons") or body.get("Errors") or []
    return [
        (str(item.get("code") or item.get("Code") or ""), str(item.get("message") or ""))
        for item in found
        if isinstance(item, Mapping)
    ]


def category(code: str) -> str:
    return code[-2:] if len(code) == 8 and code.isdigit() else ""


def failed(body: Mapping[str, Any]) -> bool:
    """True for `"success": false` (`"Success": false` in a CRUD answer)."""
    flag = body.get("success", body.get("Success", True))
    return flag is False


def from_answer(
    status: int,
    body: Mapping[str, Any],
    *,
    keyed: bool,
    retry_after: float | None = None,
    ref: str | None = None,
    refusals: Mapping[str, str] | None = None,
) -> ProviderError:
    pairs = reasons(body)
    message = "; ".join(f"{code}: {text}" for code, text in pairs) or f"HTTP {status}"
    categories = {category(code) for code, _ in pairs}
    if status >= 500 or status == 429 or categories & _RETRYABLE:
        after = f" (retry after {retry_after:g} s)" if retry_after is not None else ""
        return ProviderUnavailable(PROVIDER, f"{message}{after}")
    if keyed and status == 409:
        return ProviderUnavailable(PROVIDER, f"the same request is in progress: {message}")
    if keyed and status == 422:
        return ProviderRejected(PROVIDER, "idempotency_key_reused", message)
    if status == 404 or NOT_FOUND in categories:
        return ProviderNotFound(PROVIDER, message, ref=ref)
    if status in (401, 403) or categories & _NOT_AUTHORIZED:
        return ProviderRejected(PROVIDER, "not_authorized", message)
    for found in categories:
        if refusals and found in refusals:
            return ProviderRejected(PROVIDER, refusals[found], message)
    return ProviderRejected(PROVIDER, "invalid_request", message)


def unavailable(error: BaseException) -> ProviderUnavailable:
    return ProviderUnavailable(PROVIDER, f"no answer: {type(error).__name__}: {error}")
