"""An order that fails never keeps the customer's money.

Once invoiced, an order may have been charged even if nothing local says so: its request
(or its process) died after the charge, the charge's answer was lost (a timeout), or the
resumed order no longer applies (the subscription moved on). A declined payment ends the
same way: its invoice is voided, so nothing can be collected on it later. Before such an
order is recorded FAILED:

1. `begin`: under the order's row lock, and only while it is PENDING, it is marked settling
   (the failure is kept in `result`; a declined payment is recorded with it), so no
   executor completes it afterwards;
2. `settle`: at the provider, with the order's keys, its invoice is voided (nothing can be
   collected on it afterwards) or, if it was paid, its payment is refunded in full
   (app/services/billing/reversal.py);
3. `record`: the outcome, in the transaction that fails the order: the invoice VOID or
   REFUNDED (with the payment row if the charge had never been recorded), the refund on the
   order, an audit row, and the customer notified of a refund.

An invoice the provider reports PAID with no succeeded payment on it cannot be voided and
has nothing to refund (paid out of band, or its payment is missing there); retrying cannot
change that, and a guess could give the money back twice. The order is FAILED all the same
(it never applied), with nothing refunded and its `result` marked `review`; the invoice is
recorded PAID, as the provider has it, with sync status DRIFTED; an audit row
`order.invoice_needs_review` and one error log line tell staff, who settle it with the
customer. Being FAILED, the order is never taken up again.

A provider that cannot be reached leaves the order PENDING and settling: the next executor
(its client's retry with the same key, or the recovery job) continues at step 2 with the
same keys, and the provider replays what it already did."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.principals import Principal, PrincipalKind
from app.db.repositories import orders
from app.db.tables import Invoice, Order
from app.db.unit_of_work import unit_of_work
from app.domain.enums import NotificationKind, OrderStatus
from app.domain.errors import DomainError
from app.domain.money import Money
from app.domain.pricing import QuoteLine
from app.providers.billing import PaymentRecord, RefundRecord
from app.services import audit, notifications
from app.services.billing import accounts, charging, keys, outcomes, reversal
from app.services.orders.context import OrderDeps
from app.services.orders.errors import failure_of, failure_result
from app.services.orders.quoting import quote_line

log = logging.getLogger("app.orders.settlement")

# Why a failed order's money needs a person (order.result["review"]).
REVIEW = "invoice_paid_without_payment"

# The actor of the audit rows of what is done for an order without its client.
RECOVERY = Principal(kind=PrincipalKind.SERVICE, id="order-recovery", name="Order recovery")


@dataclass(frozen=True, slots=True)
class Settled:
    """The provider side of a failed order: voided (no payment), refunded (`payment` is the
    charge the provider had collected, `refund` what gave it back), or paid without a
    payment to refund (for review)."""

    invoice_id: int
    outcome: reversal.Outcome = reversal.Outcome.VOIDED
    payment: PaymentRecord | None = None
    refund: RefundRecord | None = None


async def issue(
    deps: OrderDeps, order_id: int, invoice: Invoice, account_ref: str, lines: Sequence[QuoteLine]
) -> str:
    """The order's provider invoice (its ref), from the quote's lines: the same request under
    the order's key on every attempt, so one whose answer was lost is replayed."""
    return await charging.issue(
        deps.billing,
        invoice,
        account_ref,
        lines,
        due_on=invoice.due_on,
        key=keys.order_invoice(order_id),
    )


def settling_error(order: Order) -> DomainError | None:
    """The failure an order is being settled for (None: it is not being settled)."""
    result = order.result or {}
    if order.status is not OrderStatus.PENDING or not result.get("settling"):
        return None
    return failure_of(result)


class Begun(Enum):
    FINISHED = "finished"  # no longer PENDING: another executor finished it, leave it be
    UNINVOICED = "uninvoiced"  # never invoiced, so never charged: nothing to give back
    SETTLING = "settling"  # invoiced: to be voided or refunded before it is FAILED


async def begin(
    deps: OrderDeps, order_id: int, error: DomainError, declined: PaymentRecord | None = None
) -> Begun:
    """Under the order's row lock (which `prepare` takes to invoice it, so the two never
    cross): mark an invoiced PENDING order settling for `error`, with the `declined`
    payment that failed it recorded."""
    async with unit_of_work(deps.sessions) as session:
        order = await session.get(Order, order_id, with_for_update=True)
        assert order is not None
        if order.status is not OrderStatus.PENDING:
            return Begun.FINISHED
        if settling_error(order) is not None:
            return Begun.SETTLING
        invoice = await orders.invoice_of_order(session, order_id)
        if invoice is None:
            return Begun.UNINVOICED
        if declined is not None:
            await outcomes.record_payment_once(session, invoice, declined, now=deps.now())
        order.result = {**failure_result(error), "settling": True}
        return Begun.SETTLING


async def settle(deps: OrderDeps, order_id: int) -> Settled | None:
    """Void or refund at the provider (no transaction open) an order `begin` marked
    settling; None: there is no invoice. Provider errors propagate (it stays settling)."""
    async with unit_of_work(deps.sessions, write=False) as session:
        order = await session.get(Order, order_id)
        invoice = await orders.invoice_of_order(session, order_id)
        if order is None or invoice is None:
            return None
        account = await accounts.account_of(session, invoice)
    if invoice.total == 0:  # a zero total is never collected
        return Settled(invoice.id or 0)
    ref = invoice.provider_ref or await _issued(deps, order, invoice, account.provider_ref)
    if ref is None:
        return Settled(invoice.id or 0)
    given_back = await reversal.void_or_refund(
        deps.billing,
        ref,
        void_key=keys.order_void(order_id),
        refund_key=keys.order_refund(order_id),
    )
    return Settled(invoice.id or 0, given_back.outcome, given_back.payment, given_back.refund)


async def _issued(
    deps: OrderDeps, order: Order, invoice: Invoice, account_ref: str | None
) -> str | None:
    """The provider invoice whose ref was never stored (the answer was lost): the same
    request with the same key replays it (or issues it, to be voided at once). None: the
    order never reached the provider's invoicing (the paying account was not there yet)."""
    if account_ref is None:
        return None
    if order.resume is None:
        log.warning("order %s: no stored quote; its provider invoice is left alone", order.id)
        return None
    lines = [quote_line(raw) for raw in order.resume["quote"]["lines"]]
    return await issue(deps, order.id or 0, invoice, account_ref, lines)


async def record(session: AsyncSession, order: Order, settled: Settled, now: datetime) -> None:
    """The provider's outcome, locally (in the transaction that fails the order)."""
    invoice = await session.get(Invoice, settled.invoice_id)
    assert invoice is not None
    if settled.outcome is reversal.Outcome.PAID_WITHOUT_PAYMENT:
        await _needs_review(session, order, invoice, now)
        return
    if settled.payment is None or settled.refund is None:
        outcomes.voided(invoice)
        await audit_recovery(
            session, order, "order.invoice_voided", {"invoice_id": invoice.id}, now
        )
        return
    outcomes.refunded(invoice, settled.payment)  # first: the payment's event shows it
    await outcomes.record_payment_once(session, invoice, settled.payment, now=now)
    order.refunded, order.refund_ref = settled.refund.amount, settled.refund.ref
    order.result = {**(order.result or {}), "refunded": settled.refund.amount}
    after = {"invoice_id": invoice.id, "refunded": order.refunded, "refund_ref": order.refund_ref}
    await audit_recovery(session, order, "order.refunded", after, now)
    await _notify(session, order, invoice, now)


async def _needs_review(
    session: AsyncSession, order: Order, invoice: Invoice, now: datetime
) -> None:
    """Paid at the provider with nothing to refund: recorded as it is, for staff."""
    outcomes.paid_without_payment(invoice)
    order.result = {**(order.result or {}), "review": REVIEW}
    after = {"invoice_id": invoice.id, "provider_ref": invoice.provider_ref, "review": REVIEW}
    await audit_recovery(session, order, "order.invoice_needs_review", after, now)
    log.error(
        "order %s failed but its invoice %s is paid at the provider with no payment to refund; "
        "nothing was given back: review it",
        order.id,
        invoice.provider_ref,
    )


async def audit_recovery(
    session: AsyncSession, order: Order, action: str, after: dict[str, Any], now: datetime
) -> None:
    """An audit row of what recovery or settlement did to the order, by the service actor."""
    await audit.record(session, RECOVERY, action, ("Order", order.id or 0), after=after, now=now)


async def _notify(session: AsyncSession, order: Order, invoice: Invoice, now: datetime) -> None:
    amount = Money(order.refunded, order.currency).formatted
    await notifications.notify(
        session,
        customer_id=order.customer_id,
        kind=NotificationKind.ORDER_REFUNDED,
        title=f"Order refunded: {amount}",
        body=f"Your order could not be completed, so its payment of {amount} (invoice "
        f"{invoice.number}) was refunded in full. Nothing was changed; quote and order again.",
        dedupe_key=f"order-refunded:{order.id}",
        now=now,
        subscription_id=order.subscription_id,
    )
