"""Renewals at term end (docs/domain.md section 6).

At term_end an auto-renewing subscription is priced by the renewal rule of the pricing
engine (as of term_end: seats = max(seats, billable users), a pending downgrade applied,
add-ons and co-termed storage packs carried over, an annual true-up billed), invoiced, and
charged. Paid: the new term starts (max seats used reset to the seats in use), storage packs
for the new term are recorded, the provider's subscription is renewed, provisioning and a
billing sync are queued. Declined: GRACE, with retries on fixed days of the grace period
(app/domain/lifecycle.py); a successful retry renews as above. Auto-renew off: GRACE at
term_end without a charge. The expiry job ends what grace did not save.

Exactly once: a `Renewal` row per (subscription, new term start), created in the claiming
transaction with the invoice; the provider calls are keyed `renewal:<subscription>:<term
start>` (the payment per attempt). A subscription renewed manually (an order) has moved its
term_end, so it is no longer due. The subscription's order lease is held from the claim to
the outcome, so no order changes it meanwhile (and the job skips it while an order holds it);
it is renewed just before each charge, as a batch's charges run one after another. A PENDING
renewal whose outcome was not recorded (the charge may have gone through) is never lapsed:
orders are refused and expiry waits until a later round replays its keys and records it.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import date, datetime
from functools import partial

from sqlalchemy.ext.asyncio import AsyncSession

from app.db.repositories import lifecycle as repo
from app.db.repositories import orders
from app.db.tables import (
    BillingAccount,
    ConsumablePurchase,
    Customer,
    Invoice,
    Renewal,
    Subscription,
)
from app.db.unit_of_work import unit_of_work
from app.domain.eligibility import Caller
from app.domain.enums import ConsumableKind, NotificationKind, SubscriptionStatus
from app.domain.errors import DomainError
from app.domain.lifecycle import RenewalStatus, expires_on, next_retry_on
from app.domain.pricing import PricedOrder, Renew, price_order
from app.providers.billing import SubscriptionItem
from app.providers.errors import ProviderError, ProviderRejected
from app.providers.tax import TaxProvider
from app.runtime import Runtime
from app.services import integration_events, tax
from app.services.billing import charging, invoices, keys, outcomes, subscriptions
from app.services.lifecycle.common import (
    CHARGE_TIMEOUT,
    Claim,
    follow_up,
    hold_item,
    isolated,
    notify,
    outcome_settles,
    record,
    summary,
    touch,
)
from app.services.orders.state import OrderTarget, load_catalog, snapshot
from app.services.worker.options import WorkerOptions

log = logging.getLogger("app.lifecycle.renewal")

# The system renews on the customer's behalf: allowed to buy, never "self-service".
SYSTEM_CALLER = Caller(may_purchase=True, self_service=False)


@dataclass(frozen=True, slots=True)
class Work:
    renewal_id: int
    subscription_id: int
    invoice_id: int
    attempt: int
    key: str
    provider_ref: str | None  # the subscription at the billing provider, if known


class RenewalJob:
    name = "renewals"

    def __init__(self, options: WorkerOptions) -> None:
        self.options = options

    async def run(self, runtime: Runtime, now: datetime) -> int:
        claim = Claim.of(self.options, now)
        handled, claimed = await self._claim(runtime, now, claim)
        for work in claimed:
            await self._charge(runtime, work, claim)
        return handled

    async def _claim(self, runtime: Runtime, now: datetime, claim: Claim) -> tuple[int, list[Work]]:
        handled, claimed = 0, []
        async with unit_of_work(runtime.sessions) as session:
            due = await repo.due_term_ends(session, now.date(), now, self.options.batch_size)
            for subscription in due:
                outcome = await isolated(
                    session,
                    f"renewal of subscription {subscription.id}",
                    partial(_leased, session, subscription, now, claim, runtime.providers.tax),
                )
                if outcome is not None:
                    handled += outcome[0]
                    claimed.extend([outcome[1]] if outcome[1] else [])
        return handled, claimed

    async def _charge(self, runtime: Runtime, work: Work, claim: Claim) -> None:
        held = await self._hold(runtime, work, claim)
        if held is None:
            log.warning(
                "renewal %s: claim lost before the charge; left to a later round", work.renewal_id
            )
            return
        try:
            async with asyncio.timeout(CHARGE_TIMEOUT.total_seconds()):
                charged = await charging.charge(runtime, work.invoice_id, work.key, work.attempt)
        except ProviderRejected as error:
            charged = charging.Charged(paid=False, payment=None, failure_code=error.code)
        except (ProviderError, TimeoutError):
            # Unavailable: the claim and lease run out and a later round resumes with the
            # same keys (the provider replays what it already did).
            log.warning("renewal %s: billing unavailable; retried later", work.renewal_id)
            return
        if charged.paid:
            await renew_at_provider(runtime, work)
        async with unit_of_work(runtime.sessions) as session:
            await record_outcome(session, work, charged, held, runtime.clock.now())

    async def _hold(self, runtime: Runtime, work: Work, claim: Claim) -> Claim | None:
        item = (Renewal, work.renewal_id)
        return await hold_item(
            runtime, self.options, item, RenewalStatus.PENDING, work.subscription_id, claim
        )


async def _leased(
    session: AsyncSession,
    subscription: Subscription,
    now: datetime,
    claim: Claim,
    taxes: TaxProvider,
) -> tuple[bool, Work | None]:
    """Under the subscription's order lease (False: an order holds it; a later round)."""
    assert subscription.id is not None
    if not await repo.take_lease(session, subscription.id, now, claim.until):
        return False, None
    work = await claim_for_charge(session, subscription, now, claim, taxes)
    if work is None:
        await repo.release_lease(session, subscription.id, claim.until)
    return True, work


async def claim_for_charge(
    session: AsyncSession,
    subscription: Subscription,
    now: datetime,
    claim: Claim,
    taxes: TaxProvider,
) -> Work | None:
    """Under the subscription's lease: the renewal of its ended term, claimed for a charge
    (priced and invoiced first if it has none; a declined one for its next attempt; a
    pending one, whose claim ran out, resumed with its keys). Pay-now
    (app/services/payments/pay_now.py) charges a declined renewal through here, as a grace
    retry does, then records it with `renew_at_provider` and `record_outcome`."""
    renewal = await repo.renewal_of_term(session, subscription)
    if renewal is None and not subscription.auto_renew:
        if subscription.status is SubscriptionStatus.ACTIVE:
            await start_grace(session, subscription, now, reason="auto_renew_off")
        return None
    if renewal is None:
        try:
            renewal = await _price_and_invoice(session, subscription, now, taxes)
        except DomainError as error:  # e.g. an add-on the downgraded plan does not allow
            log.warning("subscription %s cannot renew: %s", subscription.id, error.message)
            await start_grace(session, subscription, now, reason=error.code.value)
            return None
    elif renewal.status is RenewalStatus.DECLINED:
        renewal.status = RenewalStatus.PENDING
        renewal.attempts += 1
    elif renewal.status is not RenewalStatus.PENDING:
        return None
    renewal.claimed_by, renewal.claimed_until = claim.worker_id, claim.until
    assert renewal.id is not None and renewal.invoice_id is not None
    key = keys.renewal(subscription.id or 0, renewal.term_start)
    return Work(
        renewal.id,
        subscription.id or 0,
        renewal.invoice_id,
        renewal.attempts,
        key,
        subscription.provider_ref,
    )


async def price_renewal(session: AsyncSession, subscription: Subscription) -> PricedOrder:
    """The renewal as the pricing engine prices a manual one, as of the term end."""
    customer = await session.get(Customer, subscription.customer_id)
    assert customer is not None
    state = await snapshot(session, OrderTarget(customer, subscription, None))
    assert state is not None
    return price_order(
        catalog=await load_catalog(session, subscription.currency),
        subscription=state,
        actions=[Renew()],
        caller=SYSTEM_CALLER,
        today=subscription.term_end,
    )


async def _price_and_invoice(
    session: AsyncSession, subscription: Subscription, now: datetime, taxes: TaxProvider
) -> Renewal:
    priced = await price_renewal(session, subscription)
    after = priced.after
    plans = await orders.products_by_code(session, {after.plan_code})
    billed = invoices.Billed.subscription(subscription)
    account = await session.get(BillingAccount, subscription.billing_account_id)
    lines = await tax.tax_invoice_lines(taxes, account, subscription.currency, priced.lines)
    invoice = await invoices.write_invoice(session, billed, lines, now.date())
    renewal = Renewal(
        subscription_id=subscription.id or 0,
        term_start=after.term_start,
        term_end=after.term_end,
        status=RenewalStatus.PENDING,
        plan_id=plans[after.plan_code].id or 0,
        seats=after.seats,
        storage=[
            {"code": p.code, "packs": p.quantity, "units": p.units, "amount": p.amount}
            for p in priced.packs
        ],
        invoice_id=invoice.id,
        attempts=1,
        created_at=now,
    )
    session.add(renewal)
    await session.flush()
    return renewal


async def renew_at_provider(runtime: Runtime, work: Work) -> None:
    """Start the new term at the billing provider too (it no longer accepts amendments to a
    term that ended). A subscription it does not know yet is created by the billing sync."""
    if work.provider_ref is None:
        return
    async with unit_of_work(runtime.sessions, write=False) as session:
        subscription = await session.get(Subscription, work.subscription_id)
        renewal = await session.get(Renewal, work.renewal_id)
        assert subscription is not None and renewal is not None
        items = await _items(session, subscription, renewal)
    try:
        await subscriptions.start_term(
            runtime.providers.billing,
            work.provider_ref,
            renewal,
            items,
            key=keys.renewed_term(work.key),
        )
    except ProviderError as error:  # the payment stands; the billing sync reports the drift
        log.warning("renewal %s: provider renewal failed: %s", work.renewal_id, error)


async def _items(
    session: AsyncSession, subscription: Subscription, renewal: Renewal
) -> tuple[SubscriptionItem, ...]:
    code, unit = await repo.plan_price(session, renewal.plan_id, subscription.currency)
    items = [SubscriptionItem(code, renewal.seats, unit)]
    for purchase, add_on_code in await orders.add_on_purchases(session, subscription.id or 0):
        _, price = await repo.plan_price(session, purchase.product_id, subscription.currency)
        items.append(SubscriptionItem(add_on_code, purchase.quantity, price))
    for pack in renewal.storage:
        products = await orders.products_by_code(session, {pack["code"]})
        product_id = products[pack["code"]].id or 0
        _, price = await repo.plan_price(session, product_id, subscription.currency)
        items.append(SubscriptionItem(pack["code"], pack["packs"], price))
    return tuple(items)


async def record_outcome(
    session: AsyncSession, work: Work, charged: charging.Charged, claim: Claim, now: datetime
) -> bool:
    """Paid: the new term starts. Declined: grace, retried later. False when the claim was
    lost and the outcome is left to whoever holds the renewal now."""
    subscription = await orders.subscription_for_update(session, work.subscription_id)
    renewal = await session.get(Renewal, work.renewal_id, with_for_update=True)
    assert renewal is not None
    if not _still_ours(renewal, subscription, charged, claim):
        return False
    invoice = await session.get(Invoice, work.invoice_id)
    assert invoice is not None
    await outcomes.record_charge(session, invoice, charged, now=now)
    renewal.claimed_by, renewal.claimed_until = None, None
    if charged.paid:
        await _renewed(session, subscription, renewal, now)
    else:
        await _declined(session, subscription, renewal, charged, now)
    await repo.release_lease(session, work.subscription_id, claim.until)
    return True


def _still_ours(
    renewal: Renewal, subscription: Subscription, charged: charging.Charged, claim: Claim
) -> bool:
    return outcome_settles(
        f"renewal {renewal.id}",
        unsettled=renewal.status is RenewalStatus.PENDING
        and subscription.term_end == renewal.term_start,
        paid_already=renewal.status is RenewalStatus.PAID,
        charged_paid=charged.paid,
        payment_ref=charged.payment.ref if charged.payment else None,
        ours=renewal.claimed_by == claim.worker_id,
    )


async def _renewed(
    session: AsyncSession, subscription: Subscription, renewal: Renewal, now: datetime
) -> None:
    before = summary(subscription)
    sid = subscription.id or 0
    subscription.status = SubscriptionStatus.ACTIVE
    subscription.plan_id, subscription.pending_plan_id = renewal.plan_id, None
    subscription.seats = renewal.seats
    subscription.term_start, subscription.term_end = renewal.term_start, renewal.term_end
    subscription.max_seats_used = subscription.seats_in_use
    subscription.comp_seats = 0  # staff's comp seats are for the term they were given in
    touch(subscription, now)
    await _storage_packs(session, subscription, renewal)
    renewal.status, renewal.completed_at = RenewalStatus.PAID, now
    renewal.next_attempt_on, renewal.failure_code = None, None
    await follow_up(session, sid, f"renewal:{renewal.id}", now)
    await notify(
        session,
        subscription,
        NotificationKind.SUBSCRIPTION_RENEWED,
        title=f"Subscription {subscription.number} renewed",
        body=f"Your subscription renewed for {renewal.seats:,} seats until "
        f"{renewal.term_end.isoformat()}.",
        dedupe_key=f"renewed:{sid}:{renewal.term_start.isoformat()}",
        now=now,
    )
    invoice = await session.get(Invoice, renewal.invoice_id) if renewal.invoice_id else None
    await integration_events.emit(
        session,
        integration_events.RENEWAL_COMPLETED,
        subscription,
        integration_events.renewal_completed(renewal, invoice),
        now=now,
    )
    await record(
        session,
        "subscription.renewed",
        ("Subscription", sid),
        before=before,
        after={**summary(subscription), "invoice_id": renewal.invoice_id},
        now=now,
    )


async def _storage_packs(
    session: AsyncSession, subscription: Subscription, renewal: Renewal
) -> None:
    codes = {pack["code"] for pack in renewal.storage}
    products = await orders.products_by_code(session, codes) if codes else {}
    for pack in renewal.storage:
        session.add(
            ConsumablePurchase(
                subscription_id=subscription.id or 0,
                product_id=products[pack["code"]].id or 0,
                kind=ConsumableKind.STORAGE,
                packs=pack["packs"],
                units=pack["units"],
                amount=pack["amount"],
                currency=subscription.currency,
                purchased_on=renewal.term_start,
                expires_on=renewal.term_end,
            )
        )


async def _declined(
    session: AsyncSession,
    subscription: Subscription,
    renewal: Renewal,
    charged: charging.Charged,
    now: datetime,
) -> None:
    sid = subscription.id or 0
    renewal.status, renewal.failure_code = RenewalStatus.DECLINED, charged.failure_code
    renewal.next_attempt_on = next_retry_on(renewal.term_start, renewal.attempts)
    await notify(
        session,
        subscription,
        NotificationKind.PAYMENT_FAILED,
        title=f"Payment for {subscription.number} failed",
        body=_declined_body(renewal),
        dedupe_key=f"renewal-payment:{sid}:{renewal.term_start.isoformat()}:{renewal.attempts}",
        now=now,
    )
    await record(
        session,
        "subscription.renewal_declined",
        ("Subscription", sid),
        after={
            "invoice_id": renewal.invoice_id,
            "attempt": renewal.attempts,
            "failure_code": charged.failure_code,
            "next_attempt_on": _iso(renewal.next_attempt_on),
        },
        now=now,
    )
    if subscription.status is SubscriptionStatus.ACTIVE:
        await start_grace(session, subscription, now, reason=charged.failure_code or "declined")
    invoice = await session.get(Invoice, renewal.invoice_id) if renewal.invoice_id else None
    await integration_events.emit(
        session,
        integration_events.RENEWAL_FAILED,
        subscription,
        integration_events.renewal_failed(renewal, invoice),
        now=now,
    )


def _declined_body(renewal: Renewal) -> str:
    ends = expires_on(renewal.term_start).isoformat()
    retry = (
        f" We will try again on {renewal.next_attempt_on.isoformat()}."
        if renewal.next_attempt_on
        else ""
    )
    return (
        f"We could not charge the renewal ({renewal.failure_code}).{retry} Update your payment "
        f"method or renew before {ends}, or the subscription expires."
    )


async def start_grace(
    session: AsyncSession, subscription: Subscription, now: datetime, *, reason: str
) -> None:
    """The term ended without a paid renewal: 14 days of grace, service unchanged."""
    before = summary(subscription)
    sid = subscription.id or 0
    subscription.status = SubscriptionStatus.GRACE
    touch(subscription, now)
    ends = expires_on(subscription.term_end)
    await notify(
        session,
        subscription,
        NotificationKind.GRACE_STARTED,
        title=f"Subscription {subscription.number} is in its grace period",
        body=f"The term ended on {subscription.term_end.isoformat()} without a renewal. "
        f"Renew before {ends.isoformat()} to keep the subscription.",
        dedupe_key=f"grace:{sid}:{subscription.term_end.isoformat()}",
        now=now,
    )
    await record(
        session,
        "subscription.grace_started",
        ("Subscription", sid),
        before=before,
        after={**summary(subscription), "reason": reason, "expires_on": ends.isoformat()},
        now=now,
    )


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None
