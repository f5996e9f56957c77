"""The Stripe billing provider (BILLING_PROVIDER=stripe), on the official `stripe` SDK: its
async `StripeClient` through `stripe.AIOHTTPClient`, API version 2026-10-28.endive.

Modules: client.py (settings, the client, batch reads), errors.py (every SDK error -> a
provider error), keys.py (idempotency), mapping.py (Stripe objects -> records), checks.py
(request checks before any request), and one module per area: accounts.py (Customers and
payment methods), catalog.py (Products and Prices), subscriptions.py, invoices.py,
payments.py (charges and refunds). Each module's docstring holds its decisions; in short:

- Accounts are Customers; a payment method is attached and made the default for invoices.
- The app does the pricing: it charges through one-off invoices of its own lines, and the
  Stripe subscription never charges on its own (billing_cycle_anchor at the term end with
  proration_behavior "none", then pause_collection behavior "void").
- Every Stripe write carries an Idempotency-Key derived from the caller's key per step; the
  first write of an operation carries a digest of the whole request, so Stripe itself refuses
  the key reused for anything else, and a replay returns the first answers.
- A declined charge is a FAILED PaymentRecord (failure_code: the decline code, else the
  error code); a card refused at attach is ProviderRejected with the card error's code
  ("card_declined"); a token Stripe does not know is "invalid_payment_method".
- Retries: the SDK's, `max_network_retries` (default 1) with the same key, per-attempt
  timeout 3 s; see StripeSettings.

Refs are Stripe ids: "cus_...", "sub_...", "in_...", and for payments the charge, "ch_...".
Dates of the records are UTC dates; an invoice's issued_on is the day Stripe finalized it.
"""

from app.providers.billing.stripe.client import API_VERSION, StripeSettings
from app.providers.billing.stripe.provider import StripeBillingProvider

__all__ = ["API_VERSION", "StripeBillingProvider", "StripeSettings"]
