"""Stripe's request checks: every vendor adapter's (billing/_vendor_checks.py), under
Stripe's name."""

from __future__ import annotations

from app.providers.billing._vendor_checks import VendorChecks
from app.providers.billing.stripe.errors import PROVIDER

_CHECKS = VendorChecks(PROVIDER)
new_account = _CHECKS.new_account
payment_method = _CHECKS.payment_method
term = _CHECKS.term
items = _CHECKS.items
new_invoice = _CHECKS.new_invoice
refund_amount = _CHECKS.refund_amount
invalid = _CHECKS.invalid
