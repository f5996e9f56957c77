"""Every idempotency key sent to the billing provider, in one place.

A key names what is done, never when: a resumed order, a renewal charged again after a crash,
or a retried outbox message sends exactly the keys of its first attempt, so the provider
replays what it already did (and never does it twice). The strings are stored in the
provider's ledgers: never change one; a new operation gets a new key.

- the paying account: `billing-account:<account>` (orders, lifecycle charges and the
  billing sync alike: whichever comes first creates it);
- an order: `order:<id>:invoice`, `:payment`, `:void`, `:refund`, and `order:<id>:billing`,
  the key of its billing-sync message, under which that sync amends the subscription;
- a lifecycle charge, keyed by what is charged (`renewal:<subscription>:<term start>`,
  `reconciliation:<id>`): `<charge>:invoice`, `<charge>:payment:<attempt>`, and for a
  renewal `<charge>:subscription` (the provider's next term), and for a lapsed one
  `<charge>:void` (its invoice voided at the provider; also the key of the outbox message
  that does it) or, if it was paid there meanwhile, `<charge>:refund`;
- the billing sync: `subscription:<id>:billing` (created once), `subscription:<id>:term:<term
  start>` (a term started here), and under the message's key `<message>:<digest>` (an
  amendment), `<message>:cancel`, `<message>:reactivate`; the messages' own keys are
  `order:<id>:billing`, `<follow-up>:billing`, `subscription:<id>:v<version>:billing` and
  `subscription:<id>:seeded:billing` (the demo seed's, with a provider other than the local);
- a payment method set from the API: `payment-method:<account>:<client key>` (the same key
  with another token is refused by the provider);
- paying an invoice now: `pay-now:invoice:<invoice>` as the base of the lifecycle charge's
  keys (`:invoice`, `:payment:<attempt>`), the attempt being 1 + the invoice's declined
  pay-now requests, so a retry under any client key while a charge is unsettled replays it;
  a declined renewal's invoice is charged with the renewal's keys, as its next attempt, so
  pay-now and the grace retry resume each other;
- money back (staff): a credit note's refund `credit-note:<note>:refund` (the note is claimed
  locally first, so a retry of its idempotency key resends this key), and an open invoice
  voided `invoice:<invoice>:void` (voiding twice changes nothing, so one key per invoice).
"""

from __future__ import annotations

from datetime import date

# -- the paying account ------------------------------------------------------------------------


def account(account_id: int | None) -> str:
    return f"billing-account:{account_id}"


def demo_card(account_id: int | None, nonce: str) -> str:
    """A test card put on the account from the command line: each change is a new request."""
    return f"demo-card:{account_id}:{nonce}"


def payment_method(account_id: int, client_key: str) -> str:
    return f"payment-method:{account_id}:{client_key}"


# -- paying an invoice now ---------------------------------------------------------------------


def pay_now(invoice_id: int) -> str:
    return f"pay-now:invoice:{invoice_id}"


# -- money back (staff) ------------------------------------------------------------------------


def credit_note_refund(credit_note_id: int) -> str:
    return f"credit-note:{credit_note_id}:refund"


def invoice_void(invoice_id: int) -> str:
    return f"invoice:{invoice_id}:void"


# -- an order ----------------------------------------------------------------------------------


def _order(order_id: int, step: str) -> str:
    return f"order:{order_id}:{step}"


def order_invoice(order_id: int) -> str:
    return _order(order_id, "invoice")


def order_payment(order_id: int) -> str:
    return _order(order_id, "payment")


def order_void(order_id: int) -> str:
    """Voiding the order's provider invoice when the order fails before it was paid."""
    return _order(order_id, "void")


def order_refund(order_id: int) -> str:
    """Refunding the order's payment when the order fails after it was paid."""
    return _order(order_id, "refund")


def order_sync(order_id: int) -> str:
    """The billing-sync message an order queues (its amendments are keyed under it)."""
    return _order(order_id, "billing")


# -- lifecycle charges -------------------------------------------------------------------------


def renewal(subscription_id: int, term_start: date) -> str:
    return f"renewal:{subscription_id}:{term_start.isoformat()}"


def reconciliation(reconciliation_id: int) -> str:
    return f"reconciliation:{reconciliation_id}"


def charge_invoice(charge: str) -> str:
    return f"{charge}:invoice"


def charge_payment(charge: str, attempt: int) -> str:
    """A declined payment is replayed for its key: each attempt has one of its own."""
    return f"{charge}:payment:{attempt}"


def charge_void(charge: str) -> str:
    """Voiding the charge's invoice at the provider (a lapsed renewal's)."""
    return f"{charge}:void"


def charge_refund(charge: str) -> str:
    """Refunding it instead, when the provider had collected it meanwhile."""
    return f"{charge}:refund"


def renewed_term(charge: str) -> str:
    """The provider's next term, started once a renewal is paid."""
    return f"{charge}:subscription"


# -- the billing sync --------------------------------------------------------------------------


def sync_message(follow_up: str) -> str:
    """The billing-sync message queued with a lifecycle change (`renewal:<id>`, ...)."""
    return f"{follow_up}:billing"


def subscription_change_sync(subscription_id: int, version: int) -> str:
    """The billing-sync message of a change to the subscription itself (auto-renew, ...)."""
    return f"subscription:{subscription_id}:v{version}:billing"


def seeded_sync(subscription_id: int) -> str:
    """The billing-sync message the demo seed queues for a subscription the provider lacks."""
    return f"subscription:{subscription_id}:seeded:billing"


def subscription_create(subscription_id: int) -> str:
    return f"subscription:{subscription_id}:billing"


def subscription_term(subscription_id: int, term_start: date) -> str:
    """A term started here (a manual renewal) that the provider's copy has not started."""
    return f"subscription:{subscription_id}:term:{term_start}"


def amendment(message: str, digest: str) -> str:
    """Keyed by the request too: a retry replays, a request changed meanwhile is new."""
    return f"{message}:{digest}"


def cancel(message: str) -> str:
    return f"{message}:cancel"


def reactivate(message: str) -> str:
    return f"{message}:reactivate"
