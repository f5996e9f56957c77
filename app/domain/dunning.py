"""Where collection of a subscription's money stands (Subscription.dunning), derived from
what the payment and lifecycle records already hold; nothing is stored for it.

- PAYMENT_FAILED: a charge of one of its open invoices was declined. A declined renewal's
  invoice (the subscription in grace) carries the renewal's figures: its attempts, the day
  of its next automatic retry (none once the retries are spent), and the last day of grace
  (the subscription expires the day after unless paid).
- PAST_DUE: an open invoice's due date has passed, with no charge declined (nothing retries
  it automatically; it is paid with invoicePay).

The renewal's invoice comes first, then the oldest invoice with a decline, then the oldest
past due. None: nothing is owed late."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from app.domain.enums import DunningStatus
from app.domain.lifecycle import expires_on


@dataclass(frozen=True, slots=True)
class OpenInvoice:
    invoice_id: int
    amount_due: int
    currency: str
    due_on: date
    failed_attempts: int
    last_failure_code: str | None


@dataclass(frozen=True, slots=True)
class DeclinedRenewal:
    invoice_id: int
    term_start: date  # the term it would start (the old term end)
    attempts: int
    next_attempt_on: date | None
    failure_code: str | None


@dataclass(frozen=True, slots=True)
class Dunning:
    status: DunningStatus
    invoice_id: int
    amount_due: int
    currency: str
    due_on: date
    attempts: int
    last_failure_code: str | None
    next_retry_on: date | None
    grace_ends_on: date | None


def dunning_of(
    invoices: Sequence[OpenInvoice], renewal: DeclinedRenewal | None, today: date
) -> Dunning | None:
    by_id = {invoice.invoice_id: invoice for invoice in invoices}
    if renewal is not None and renewal.invoice_id in by_id:
        invoice = by_id[renewal.invoice_id]
        return Dunning(
            DunningStatus.PAYMENT_FAILED,
            invoice.invoice_id,
            invoice.amount_due,
            invoice.currency,
            invoice.due_on,
            max(renewal.attempts, invoice.failed_attempts),
            renewal.failure_code or invoice.last_failure_code,
            renewal.next_attempt_on,
            expires_on(renewal.term_start) - timedelta(days=1),
        )
    ordered = sorted(invoices, key=lambda invoice: (invoice.due_on, invoice.invoice_id))
    declined = [invoice for invoice in ordered if invoice.failed_attempts > 0]
    late = [invoice for invoice in ordered if invoice.due_on < today]
    if declined:
        return _plain(DunningStatus.PAYMENT_FAILED, declined[0])
    if late:
        return _plain(DunningStatus.PAST_DUE, late[0])
    return None


def _plain(status: DunningStatus, invoice: OpenInvoice) -> Dunning:
    return Dunning(
        status,
        invoice.invoice_id,
        invoice.amount_due,
        invoice.currency,
        invoice.due_on,
        invoice.failed_attempts,
        invoice.last_failure_code,
        None,
        None,
    )
