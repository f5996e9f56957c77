"""The signatures of signed requests we send or receive, both in the shape of Stripe's
webhook signature: a header `t=<unix seconds>,v1=<hex HMAC-SHA256>` with the shared secret.
The receiver recomputes the HMAC over the raw content, compares in constant time, and
refuses a timestamp further than a tolerance from its own clock, so a captured request
cannot be replayed later. Several `v1=` entries may be sent while a secret is rotated.

- Stripe's webhook scheme (`signature_header`, `verify_signature`): the HMAC of
  `<t>.<body>`. Stripe signs its deliveries so; the test fake of Stripe signs with it.
- The provisioning scheme (`request_signature_header`, `verify_request_signature`): the HMAC
  of `<t>.<METHOD>.<path>.<body>`. A webhook goes to one URL, but the provisioning target
  POSTs to one path per deployment: signing the method and path too means a captured POST
  cannot be replayed, within the tolerance, to another namespace's path (or as another
  method). It is Stripe's scheme over the content `<METHOD>.<path>.<body>`.
"""

from __future__ import annotations

import hashlib
import hmac

SCHEME = "v1"
DEFAULT_TOLERANCE_SECONDS = 300
MAX_TIMESTAMP_DIGITS = 12


class InvalidSignature(ValueError):
    """The signature header is missing, malformed, stale or does not match the request."""


def signature_header(payload: bytes, secret: str, timestamp: int) -> str:
    """Stripe's webhook scheme: `payload` is the raw body."""
    return f"t={timestamp},{SCHEME}={_digest(payload, secret, timestamp)}"


def request_signature_header(
    method: str, path: str, body: bytes, secret: str, timestamp: int
) -> str:
    """The provisioning scheme: the method, the request path (as the receiver sees it, no
    query) and the raw body, an empty one for a GET."""
    return signature_header(signed_request(method, path, body), secret, timestamp)


def signed_request(method: str, path: str, body: bytes) -> bytes:
    """`<METHOD>.<path>.<body>`: what the provisioning scheme signs after `<t>.`."""
    return f"{method.upper()}.{path}.".encode() + body


def verify_signature(
    payload: bytes,
    header: str | None,
    secret: str,
    *,
    now: float,
    tolerance: int = DEFAULT_TOLERANCE_SECONDS,
) -> int:
    """Check `header` against the raw `payload` (Stripe's scheme); return its timestamp, or
    raise InvalidSignature saying why."""
    timestamp, signatures = _parse(header)
    expected = _digest(payload, secret, timestamp)
    if not any(hmac.compare_digest(expected, candidate) for candidate in signatures):
        raise InvalidSignature("no signature matches the request")
    if abs(now - timestamp) > tolerance:
        raise InvalidSignature("the timestamp is outside the tolerance")
    return timestamp


def verify_request_signature(
    method: str,
    path: str,
    body: bytes,
    header: str | None,
    secret: str,
    *,
    now: float,
    tolerance: int = DEFAULT_TOLERANCE_SECONDS,
) -> int:
    """Check `header` against the request (the provisioning scheme), as `verify_signature`."""
    content = signed_request(method, path, body)
    return verify_signature(content, header, secret, now=now, tolerance=tolerance)


def _digest(payload: bytes, secret: str, timestamp: int) -> str:
    signed = str(timestamp).encode() + b"." + payload
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def _parse(header: str | None) -> tuple[int, list[str]]:
    if not header:
        raise InvalidSignature("no signature header")
    timestamps: list[str] = []
    signatures: list[str] = []
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        if key == "t":
            timestamps.append(value)
        elif key == SCHEME:
            signatures.append(value)
    if len(timestamps) != 1 or not _unix_seconds(timestamps[0]):
        raise InvalidSignature("the header needs one numeric t=")
    if not signatures:
        raise InvalidSignature(f"the header has no {SCHEME}= signature")
    return int(timestamps[0]), signatures


def _unix_seconds(text: str) -> bool:
    """ASCII digits, few enough for int() (a 5,000-digit one would raise a bare ValueError)."""
    return text.isascii() and text.isdigit() and len(text) <= MAX_TIMESTAMP_DIGITS
