"""Stripe-Signature headers, as Stripe signs webhook deliveries."""

from __future__ import annotations

import hashlib
import hmac


def signature_header(payload: bytes, secret: str, timestamp: int) -> str:
    """`t=<ts>,v1=<hex hmac-sha256 of f"{t}.{body}">`."""
    signed = f"{timestamp}.".encode() + payload
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"
