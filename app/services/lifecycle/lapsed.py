"""A lapsed renewal's invoice, voided at the billing provider too.

A declined automatic renewal lapses when its subscription expires, or when an order renews
the subscription during grace (app/services/lifecycle/expiry.py, `lapse_renewal`). Its open
invoice billed a term that will never be served, and the provider's copy would stay
collectable (a provider may retry it on its own, or the customer pay its link). The steps:

1. in the transaction that lapses the renewal (the expiry, or the order's completion): the
   renewal LAPSED, the local invoice VOID (nothing here charges it again: the grace retries
   stop, pay-now refuses it; one a webhook already copied PAID stays PAID until step 3
   refunds it), and a `billing.void_lapsed_invoice` message queued with the
   key `renewal:<subscription>:<term start>:void`. The subscription expires on time,
   whether or not the provider can be reached;
2. the outbox worker (the same round's outbox pass, no transaction open during the call)
   voids the provider's invoice through the billing room (app/services/billing/reversal.py,
   key `<charge>:void`). Unreachable: retried with backoff on later rounds, same keys.
3. its outcome recorded: voided, nothing more to do; paid at the provider meanwhile, its
   payment refunded in full (`<charge>:refund`), the invoice REFUNDED with its payment row
   (an audit row `invoice.refunded`); paid with no payment to refund, the invoice PAID and
   DRIFTED for staff to review (an audit row `invoice.needs_review`, one error log line).
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.db.tables import Invoice
from app.runtime import Runtime
from app.services import outbox
from app.services.billing import keys, outcomes, reversal
from app.services.lifecycle.common import record
from app.services.worker.handler import Claimed, PermanentFailure, Record

log = logging.getLogger("app.lifecycle.lapsed")

TOPIC = "billing.void_lapsed_invoice"


async def void_at_provider(
    session: AsyncSession, invoice_id: int, charge: str, now: datetime
) -> None:
    """Queue the provider's void of the lapsed `charge`'s invoice (once per charge)."""
    payload = {"invoice_id": invoice_id, "charge": charge}
    await outbox.enqueue(session, TOPIC, payload, keys.charge_void(charge), now=now)


class VoidLapsedInvoice:
    """`billing.void_lapsed_invoice`: void (or refund) the invoice at the provider."""

    async def perform(self, runtime: Runtime, message: Claimed) -> Record:
        invoice_id, charge = message.payload.get("invoice_id"), message.payload.get("charge")
        if not isinstance(invoice_id, int) or not isinstance(charge, str):
            raise PermanentFailure(f"message {message.id} names no invoice_id and charge")
        given_back = await reversal.reverse_charge(runtime, invoice_id, charge)

        async def recorded(session: AsyncSession) -> None:
            await _record(session, invoice_id, given_back, runtime.clock.now())

        return recorded

    async def record_failure(
        self, session: AsyncSession, message: Claimed, *, gave_up: bool
    ) -> None:
        """The outbox row (attempts, last error) is the void's status; the local invoice is
        VOID already."""


async def _record(
    session: AsyncSession, invoice_id: int, given_back: reversal.Reversed, now: datetime
) -> None:
    invoice = await session.get(Invoice, invoice_id, with_for_update=True)
    assert invoice is not None
    target = ("Invoice", invoice_id)
    if given_back.outcome is reversal.Outcome.REFUNDED:
        assert given_back.payment is not None and given_back.refund is not None
        outcomes.refunded(invoice, given_back.payment)  # first: the payment's event shows it
        await outcomes.record_payment_once(session, invoice, given_back.payment, now=now)
        after = {"refunded": given_back.refund.amount, "refund_ref": given_back.refund.ref}
        await record(session, "invoice.refunded", target, after=after, now=now)
        log.warning("lapsed invoice %s was paid at the provider: refunded", invoice.number)
    elif given_back.outcome is reversal.Outcome.PAID_WITHOUT_PAYMENT:
        outcomes.paid_without_payment(invoice)
        after = {"provider_ref": invoice.provider_ref, "review": "invoice_paid_without_payment"}
        await record(session, "invoice.needs_review", target, after=after, now=now)
        log.error(
            "lapsed invoice %s is paid at the provider with no payment to refund: review it",
            invoice.number,
        )
