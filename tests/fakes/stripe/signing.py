"""A `Stripe-Signature` header as Stripe signs a webhook delivery: HMAC-SHA256 with the
endpoint's secret over "<timestamp>.<body>", hex, as the `v1` scheme."""

from __future__ import annotations

import hashlib
import hmac


def signature_header(payload: bytes, secret: str, timestamp: int) -> str:
    signed = f"{timestamp}.".encode() + payload
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"
