"""One signature scheme for every signed request we send or receive (the provisioning
target's POSTs, webhooks): Stripe's webhook signature.

The header is `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`; the receiver
recomputes the HMAC over the raw body with the shared secret, compares in constant time,
and refuses a timestamp further than a tolerance from its own clock, so a captured request
cannot be replayed later. Several `v1=` entries may be sent while a secret is rotated.
"""

from __future__ import annotations

import hashlib
import hmac

SCHEME = "v1"
DEFAULT_TOLERANCE_SECONDS = 300


class InvalidSignature(ValueError):
    """The signature header is missing, malformed, stale or does not match the body."""


def signature_header(payload: bytes, secret: str, timestamp: int) -> str:
    return f"t={timestamp},{SCHEME}={_digest(payload, secret, timestamp)}"


def verify_signature(
    payload: bytes,
    header: str | None,
    secret: str,
    *,
    now: float,
    tolerance: int = DEFAULT_TOLERANCE_SECONDS,
) -> int:
    """Check `header` against the raw `payload`; return its timestamp, or raise
    InvalidSignature saying why."""
    timestamp, signatures = _parse(header)
    expected = _digest(payload, secret, timestamp)
    if not any(hmac.compare_digest(expected, candidate) for candidate in signatures):
        raise InvalidSignature("no signature matches the body")
    if abs(now - timestamp) > tolerance:
        raise InvalidSignature("the timestamp is outside the tolerance")
    return timestamp


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
    if len(timestamps) != 1 or not (timestamps[0].isascii() and timestamps[0].isdigit()):
        raise InvalidSignature("the header needs one numeric t=")
    if not signatures:
        raise InvalidSignature(f"the header has no {SCHEME}= signature")
    return int(timestamps[0]), signatures
