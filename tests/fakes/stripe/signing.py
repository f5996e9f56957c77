"""A `Stripe-Signature` header as Stripe signs a webhook delivery: HMAC-SHA256 with the
endpoint's secret over "<timestamp>.<body>", hex, as the `v1` scheme. It is the app's own
implementation of that scheme (app/providers/signing.py, whose provisioning scheme signs the
method and path too); the webhook route verifies with Stripe's SDK, so the two are checked
against each other."""

from app.providers.signing import signature_header

__all__ = ["signature_header"]
