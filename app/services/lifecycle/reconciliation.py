"""Quarterly reconciliation (docs/domain.md section 6, rules in app/domain/reconciliation.py).

Each step is driven by a stored date, so the result is the same whether the clock moves a
day or a year at a time, and a subscription's steps run in date order (one per round):
1. schedule: the first time an active, paid, quarterly subscription's term is seen, a row
   per quarter 1-3 is written (SCHEDULED, with its quarter end and invoice date);
2. notice, at the quarter end: the quarter's max seats used (SeatUsage reported_on within
   [quarter start, quarter end)) against the paid seats then; above them, the customer gets
   a RECONCILIATION_NOTICE with the estimate (NOTICED), else NOTHING_DUE;
3. invoice, 7 days later: the seats still owed are the quarter's max minus the paid seats
   *now* (seats bought meanwhile were paid for already and are not billed again); nothing
   owed -> SETTLED; else an invoice `owed x seat price x remaining quarters / 4` is charged
   and the paid seats rise to the quarter's max, with a RECONCILIATION_INVOICE notice.

Paid seats rise with the invoice, not at the notice: billing and entitlement move together,
and the 7 days leave the customer time to buy the seats themselves. They rise even when the
charge is declined (the invoice stays open and a PAYMENT_FAILED notice goes out): the seats
were used and are owed, and raising them keeps the next quarter from billing them again.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from sqlalchemy.ext.asyncio import AsyncSession

from app.db.repositories import lifecycle as repo
from app.db.repositories import orders
from app.db.tables import BillingAccount, Invoice, Reconciliation, Subscription
from app.db.unit_of_work import unit_of_work
from app.domain.enums import (
    InvoiceLineKind,
    NotificationKind,
    ReconciliationMode,
    SubscriptionStatus,
)
from app.domain.pricing import QuoteLine
from app.domain.reconciliation import (
    QUARTERS,
    ReconciliationStatus,
    overage,
    overage_amount,
    quarters,
    remaining_quarters,
)
from app.providers.errors import ProviderError, ProviderRejected
from app.providers.tax import TaxProvider
from app.runtime import Runtime
from app.services import integration_events, tax
from app.services.billing import charging, invoices, keys, outcomes
from app.services.lifecycle.common import (
    CHARGE_TIMEOUT,
    Claim,
    follow_up,
    hold_item,
    isolated,
    notify,
    outcome_settles,
    record,
    touch,
)
from app.services.worker.options import WorkerOptions

log = logging.getLogger("app.lifecycle.reconciliation")

Status = ReconciliationStatus


@dataclass(frozen=True, slots=True)
class Work:
    reconciliation_id: int
    subscription_id: int
    invoice_id: int


class ReconciliationJob:
    name = "reconciliation"

    def __init__(self, options: WorkerOptions) -> None:
        self.options = options

    async def run(self, runtime: Runtime, now: datetime) -> int:
        claim = Claim.of(self.options, now)
        scheduled = await self._schedule(runtime, now)
        handled, claimed = await self._step(runtime, now, claim)
        for work in claimed:
            await self._charge(runtime, work, claim)
        return scheduled + handled

    async def _schedule(self, runtime: Runtime, now: datetime) -> int:
        async with unit_of_work(runtime.sessions) as session:
            due = await repo.unscheduled_quarterly(
                session, now.date(), now, self.options.batch_size
            )
            for subscription in due:
                await _schedule_term(session, subscription, now)
        return len(due)

    async def _step(self, runtime: Runtime, now: datetime, claim: Claim) -> tuple[int, list[Work]]:
        handled, claimed = 0, []
        async with unit_of_work(runtime.sessions) as session:
            due = await repo.due_reconciliations(session, now.date(), now, self.options.batch_size)
            for row, subscription in due:
                outcome = await isolated(
                    session,
                    f"reconciliation {row.id}",
                    partial(_leased, session, row, subscription, now, claim, runtime.providers.tax),
                )
                if outcome is not None:
                    handled += outcome[0]
                    claimed.extend([outcome[1]] if outcome[1] else [])
        return handled, claimed

    async def _charge(self, runtime: Runtime, work: Work, claim: Claim) -> None:
        key = keys.reconciliation(work.reconciliation_id)
        held = await self._hold(runtime, work, claim)
        if held is None:
            log.warning("%s: claim lost before the charge; left to a later round", key)
            return
        try:
            async with asyncio.timeout(CHARGE_TIMEOUT.total_seconds()):
                charged = await charging.charge(runtime, work.invoice_id, key, 1)
        except ProviderRejected as error:
            charged = charging.Charged(paid=False, payment=None, failure_code=error.code)
        except (ProviderError, TimeoutError):
            log.warning("reconciliation %s: billing unavailable; retried later", key)
            return
        async with unit_of_work(runtime.sessions) as session:
            await _invoiced(session, work, charged, held, runtime.clock.now())

    async def _hold(self, runtime: Runtime, work: Work, claim: Claim) -> Claim | None:
        item = (Reconciliation, work.reconciliation_id)
        return await hold_item(
            runtime, self.options, item, Status.INVOICING, work.subscription_id, claim
        )


async def _schedule_term(session: AsyncSession, subscription: Subscription, now: datetime) -> None:
    found = quarters(subscription.term_start, subscription.term_end)
    for quarter in found:
        await repo.add_once(
            session,
            Reconciliation(
                subscription_id=subscription.id or 0,
                term_start=subscription.term_start,
                quarter=quarter.number,
                quarter_start=quarter.start,
                quarter_end=quarter.end,
                invoice_on=quarter.invoice_on,
                status=Status.SCHEDULED,
                created_at=now,
            ),
        )
    if not found:  # a term too short for a quarter: mark it seen, nothing to reconcile
        await repo.add_once(
            session,
            Reconciliation(
                subscription_id=subscription.id or 0,
                term_start=subscription.term_start,
                quarter=0,
                quarter_start=subscription.term_start,
                quarter_end=subscription.term_start,
                invoice_on=subscription.term_start,
                status=Status.SKIPPED,
                created_at=now,
                completed_at=now,
            ),
        )


async def _leased(
    session: AsyncSession,
    row: Reconciliation,
    subscription: Subscription,
    now: datetime,
    claim: Claim,
    taxes: TaxProvider,
) -> tuple[bool, Work | None]:
    """Under the subscription's order lease (False: an order holds it; a later round)."""
    assert subscription.id is not None
    if not await repo.take_lease(session, subscription.id, now, claim.until):
        return False, None
    work = await _step_one(session, row, subscription, now, claim, taxes)
    if work is None:
        await repo.release_lease(session, subscription.id, claim.until)
    return True, work


async def _step_one(
    session: AsyncSession,
    row: Reconciliation,
    subscription: Subscription,
    now: datetime,
    claim: Claim,
    taxes: TaxProvider,
) -> Work | None:
    # An invoice being charged is resumed whatever happened since: its charge may have gone
    # through (the same keys replay it).
    if row.status is not Status.INVOICING and not _applies(row, subscription):
        row.status, row.completed_at = Status.SKIPPED, now
        return None
    if row.status is Status.SCHEDULED:
        await _notice(session, row, subscription, now)
        return None
    noticed = row.status is Status.NOTICED  # read first: invoicing moves it on
    if noticed and not await _invoice(session, row, subscription, now, taxes):
        return None  # settled: nothing to charge
    row.claimed_by, row.claimed_until = claim.worker_id, claim.until
    assert row.id is not None and row.invoice_id is not None
    return Work(row.id, subscription.id or 0, row.invoice_id)


def _applies(row: Reconciliation, subscription: Subscription) -> bool:
    """The quarter still belongs to the subscription's current, active, quarterly term."""
    return (
        subscription.status is SubscriptionStatus.ACTIVE
        and subscription.reconciliation_mode is ReconciliationMode.QUARTERLY
        and subscription.term_start == row.term_start
    )


async def _notice(
    session: AsyncSession, row: Reconciliation, subscription: Subscription, now: datetime
) -> None:
    used = await repo.quarter_max(
        session, subscription.deployment_id, row.quarter_start, row.quarter_end
    )
    _, unit = await repo.plan_price(session, subscription.plan_id, subscription.currency)
    over = overage(used, subscription.seats + subscription.comp_seats)  # comp seats cover
    row.paid_seats, row.max_seats_used, row.overage_seats = subscription.seats, used, over
    row.amount = overage_amount(over, unit, row.quarter)
    row.noticed_at = now
    if over == 0:
        row.status, row.completed_at = Status.NOTHING_DUE, now
        return
    row.status = Status.NOTICED
    await notify(
        session,
        subscription,
        NotificationKind.RECONCILIATION_NOTICE,
        title=f"Quarter {row.quarter} reconciliation for {subscription.number}",
        body=f"Up to {used:,} seats were used in quarter {row.quarter}, {over:,} above the "
        f"{subscription.seats:,} paid. Unless you buy them first, {over:,} seats will be "
        f"invoiced on {row.invoice_on.isoformat()} for the {remaining_quarters(row.quarter)} "
        f"remaining quarter(s) (estimate: {row.amount:,} minor units of "
        f"{subscription.currency}).",
        dedupe_key=f"reconciliation:{subscription.id}:{row.quarter_end.isoformat()}",
        now=now,
    )
    await record(
        session,
        "reconciliation.noticed",
        ("Subscription", subscription.id or 0),
        after=_facts(row),
        now=now,
    )


async def _invoice(
    session: AsyncSession,
    row: Reconciliation,
    subscription: Subscription,
    now: datetime,
    taxes: TaxProvider,
) -> bool:
    """Invoice the seats still owed; False (SETTLED) when seats bought meanwhile cover them."""
    owed = overage(row.max_seats_used or 0, subscription.seats + subscription.comp_seats)
    row.billed_seats = owed
    if owed == 0:
        row.status, row.amount, row.completed_at = Status.SETTLED, 0, now
        await record(
            session,
            "reconciliation.settled",
            ("Subscription", subscription.id or 0),
            after=_facts(row),
            now=now,
        )
        return False
    code, unit = await repo.plan_price(session, subscription.plan_id, subscription.currency)
    remaining = remaining_quarters(row.quarter)
    row.amount = overage_amount(owed, unit, row.quarter)
    line = QuoteLine(
        kind=InvoiceLineKind.CHARGE,
        description=f"Quarter {row.quarter} reconciliation: {owed:,} seat(s) used above the "
        f"{subscription.seats:,} paid, for {remaining} of {QUARTERS} quarters",
        product_code=code,
        quantity=owed,
        unit_amount=unit,
        amount=row.amount,
        period_start=row.quarter_end,
        period_end=subscription.term_end,
    )
    billed = invoices.Billed.subscription(subscription)
    account = await session.get(BillingAccount, subscription.billing_account_id)
    lines = await tax.tax_invoice_lines(taxes, account, subscription.currency, [line])
    invoice = await invoices.write_invoice(session, billed, lines, now.date())
    row.invoice_id, row.status = invoice.id, Status.INVOICING
    return True


async def _invoiced(
    session: AsyncSession, work: Work, charged: charging.Charged, claim: Claim, now: datetime
) -> None:
    subscription = await orders.subscription_for_update(session, work.subscription_id)
    row = await session.get(Reconciliation, work.reconciliation_id, with_for_update=True)
    assert row is not None
    if not _still_ours(row, charged, claim):
        return
    invoice = await session.get(Invoice, work.invoice_id)
    assert invoice is not None
    await outcomes.record_charge(session, invoice, charged, now=now)
    before = {"seats": subscription.seats}
    covered = (row.max_seats_used or 0) - subscription.comp_seats
    subscription.seats = max(subscription.seats, covered)
    touch(subscription, now)
    record_charged(row, charged.paid, now)
    sid = subscription.id or 0
    await follow_up(session, sid, f"reconciliation:{row.id}", now)
    await _invoice_notices(session, subscription, row, invoice, charged, now)
    await integration_events.emit(
        session,
        integration_events.RECONCILIATION_INVOICED,
        subscription,
        integration_events.reconciliation_invoiced(row, invoice),
        now=now,
    )
    await record(
        session,
        "reconciliation.invoiced",
        ("Subscription", sid),
        before=before,
        after={**_facts(row), "seats": subscription.seats, "invoice_id": invoice.id},
        now=now,
    )
    await repo.release_lease(session, sid, claim.until)


def record_charged(row: Reconciliation, paid: bool, now: datetime) -> None:
    """The quarter's outcome once its invoice was charged, by this job or later by pay-now
    (a DECLINED quarter whose invoice is paid is PAID: its seats were raised already)."""
    row.status = Status.PAID if paid else Status.DECLINED
    row.claimed_by, row.claimed_until, row.completed_at = None, None, now


def _still_ours(row: Reconciliation, charged: charging.Charged, claim: Claim) -> bool:
    return outcome_settles(
        f"reconciliation {row.id}",
        unsettled=row.status is Status.INVOICING,
        paid_already=row.status is Status.PAID,
        charged_paid=charged.paid,
        payment_ref=charged.payment.ref if charged.payment else None,
        ours=row.claimed_by == claim.worker_id,
    )


async def _invoice_notices(
    session: AsyncSession,
    subscription: Subscription,
    row: Reconciliation,
    invoice: Invoice,
    charged: charging.Charged,
    now: datetime,
) -> None:
    quarter_end = row.quarter_end.isoformat()
    await notify(
        session,
        subscription,
        NotificationKind.RECONCILIATION_INVOICE,
        title=f"Invoice {invoice.number}: quarter {row.quarter} reconciliation",
        body=f"{row.billed_seats:,} seat(s) invoiced ({invoice.total:,} minor units of "
        f"{invoice.currency}); the subscription now has {subscription.seats:,} seats.",
        dedupe_key=f"reconciliation-invoice:{subscription.id}:{quarter_end}",
        now=now,
    )
    if not charged.paid:
        await notify(
            session,
            subscription,
            NotificationKind.PAYMENT_FAILED,
            title=f"Payment of invoice {invoice.number} failed",
            body=f"We could not charge invoice {invoice.number} ({charged.failure_code}); "
            "it stays open. Update your payment method.",
            dedupe_key=f"reconciliation-payment:{subscription.id}:{quarter_end}",
            now=now,
        )


def _facts(row: Reconciliation) -> dict[str, object]:
    return {
        "quarter": row.quarter,
        "quarter_end": row.quarter_end.isoformat(),
        "paid_seats": row.paid_seats,
        "max_seats_used": row.max_seats_used,
        "overage_seats": row.overage_seats,
        "billed_seats": row.billed_seats,
        "amount": row.amount,
        "status": row.status.value,
    }
