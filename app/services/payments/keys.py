"""The provider idempotency keys of payment methods and pay-now, in one place.

- Setting a payment method: `payment-method:<billing account id>:<client key>`; the same key
  with another token is refused by the provider (IDEMPOTENCY_KEY_REUSED).
- Paying an invoice now: `pay-now:invoice:<invoice id>` as the base of charging's keys
  (`:invoice` if the provider has no invoice yet, `:payment:<attempt>`), where the attempt is
  1 + the invoice's declined pay-now requests. The client's key picks the request row that
  remembers base and attempt, so its retries resume the one charge; a request with another
  key while a charge is unsettled computes the same attempt, so the provider replays it
  rather than charging again. A declined renewal's invoice is charged as the renewal's next
  attempt, with the renewal's keys (`renewal:<subscription>:<term start>`), so pay-now and
  the grace retry resume each other and never both charge."""

from __future__ import annotations


def payment_method(account_id: int, client_key: str) -> str:
    return f"payment-method:{account_id}:{client_key}"


def pay_now(invoice_id: int) -> str:
    return f"pay-now:invoice:{invoice_id}"
