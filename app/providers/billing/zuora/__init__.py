"""The Zuora billing provider (BILLING_PROVIDER=zuora), on Zuora's v1 REST API through a thin
aiohttp client (client.py: OAuth client credentials, Idempotency-Key, `success: false`).

Modules: client.py, errors.py (answers -> provider errors), mapping.py (Zuora objects ->
records, decimal amounts <-> minor units), checks.py (request checks before any request),
catalog.py (product codes -> Products, rate plans and charges), accounts.py (accounts and
payment methods), subscriptions.py (the Orders API, and the amendment preview),
invoices.py (standalone invoices), payments.py (payments and refunds). Each module's
docstring holds its decisions; in short:

- The app does the pricing: subscriptions carry the items at the caller's unit amounts
  (charge overrides) and never bill on their own; the app charges through standalone
  invoices of its own lines, so a quote and its invoice agree with every provider.
- Every write carries an Idempotency-Key (the caller's key, or f"{key}:{step}" for a later
  step); orders are also numbered from the key and carry a request digest, so an operation
  whose order actions depend on the subscription's state is computed once per key.
- Before an amendment the billing room compares Zuora's own proration (`preview_amendment`,
  `POST /v1/orders/preview`) with its own amount; a difference of a cent refuses it
  (`ProviderRejected("proration_mismatch")`) before anything is written.
- Refs: account numbers, subscription numbers, invoice numbers, payment numbers and refund
  numbers. Batch reads are one GET per ref, run a few at a time (accounts.py says why).
"""

from app.providers.billing.zuora.client import API_VERSION, ZuoraSettings
from app.providers.billing.zuora.provider import ZuoraBillingProvider

__all__ = ["API_VERSION", "ZuoraBillingProvider", "ZuoraSettings"]
