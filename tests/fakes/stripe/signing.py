"""A `Stripe-Signature` header as Stripe signs a webhook delivery: HMAC-SHA256 with the
endpoint's secret over "<timestamp>.<body>", hex, as the `v1` scheme. The provisioning
target signs its pushes with the same scheme (app/providers/signing.py); the webhook route
verifies with Stripe's SDK, so the two are checked against each other."""

from app.providers.signing import signature_header

__all__ = ["signature_header"]
