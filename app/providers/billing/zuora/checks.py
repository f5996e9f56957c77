"""Zuora's request checks: every vendor adapter's (billing/_vendor_checks.py), under
Zuora's name, and its idempotency keys' length."""

from __future__ import annotations

from app.providers.billing._vendor_checks import VendorChecks
from app.providers.billing.zuora.errors import PROVIDER

MAX_KEY_LENGTH = 200  # Zuora takes keys shorter than 255 characters; steps add a few

_CHECKS = VendorChecks(PROVIDER)
new_account = _CHECKS.new_account
payment_method = _CHECKS.payment_method
term = _CHECKS.term
items = _CHECKS.items
new_invoice = _CHECKS.new_invoice
refund_amount = _CHECKS.refund_amount
invalid = _CHECKS.invalid


def key(given: str) -> None:
    if not given or len(given) > MAX_KEY_LENGTH:
        raise invalid("idempotency key must be 1-200 chars")
