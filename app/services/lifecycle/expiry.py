"""The end of service: a subscription in grace expires 14 days after its term end, a trial at
its term end (no grace). The deployment falls back to Free: no live subscription is left on
it, and the provisioning push of an expired subscription sends the Free plan
(app/services/provisioning.py). A renewal still declined when grace ends lapses and its
open invoice is voided (the term it billed was never served): locally at once, with the
expiry, and at the billing provider by an outbox message queued with it
(app/services/lifecycle/lapsed.py), so the subscription expires on time even while the
provider cannot be reached. One still being charged (PENDING) holds the expiry back until
the renewal job settles it."""

from __future__ import annotations

from datetime import date, datetime
from functools import partial

from sqlalchemy.ext.asyncio import AsyncSession

from app.db.repositories import lifecycle as repo
from app.db.tables import Invoice, Subscription
from app.db.unit_of_work import unit_of_work
from app.domain.enums import InvoiceStatus, NotificationKind, SubscriptionStatus
from app.domain.lifecycle import RenewalStatus
from app.runtime import Runtime
from app.services import integration_events, outbox
from app.services.billing import keys, outcomes
from app.services.lifecycle import lapsed
from app.services.lifecycle.common import (
    Claim,
    follow_up,
    isolated,
    notify,
    record,
    summary,
    touch,
)
from app.services.worker.options import WorkerOptions


class ExpiryJob:
    name = "expiry"

    def __init__(self, options: WorkerOptions) -> None:
        self.options = options

    async def run(self, runtime: Runtime, now: datetime) -> int:
        claim = Claim.of(self.options, now)
        handled = 0
        async with unit_of_work(runtime.sessions) as session:
            due = await repo.due_expiries(session, now.date(), now, self.options.batch_size)
            for subscription in due:
                expired = await isolated(
                    session,
                    f"expiry of subscription {subscription.id}",
                    partial(_leased, session, subscription, now, claim),
                )
                handled += bool(expired)
        return handled


async def _leased(
    session: AsyncSession, subscription: Subscription, now: datetime, claim: Claim
) -> bool:
    assert subscription.id is not None
    if not await repo.take_lease(session, subscription.id, now, claim.until):
        return False  # an order holds it: a later round
    await expire(session, subscription, now)
    await repo.release_lease(session, subscription.id, claim.until)
    return True


async def expire(session: AsyncSession, subscription: Subscription, now: datetime) -> None:
    before = summary(subscription)
    sid = subscription.id or 0
    trial = subscription.status is SubscriptionStatus.TRIAL
    subscription.status, subscription.auto_renew = SubscriptionStatus.EXPIRED, False
    touch(subscription, now)
    await lapse_renewal(session, sid, subscription.term_end, now)
    if trial or subscription.provider_ref is None:  # not at the billing provider: no sync
        await outbox.enqueue(
            session, outbox.PROVISION, {"subscription_id": sid}, f"expiry:{sid}:provision", now=now
        )
    else:
        await follow_up(session, sid, f"expiry:{sid}", now)
    await notify(
        session,
        subscription,
        NotificationKind.TRIAL_ENDED if trial else NotificationKind.SUBSCRIPTION_EXPIRED,
        title=f"{'Trial' if trial else 'Subscription'} {subscription.number} ended",
        body=f"{'The trial' if trial else 'The subscription'} ended; the deployment is back "
        "on the Free plan. Buy a plan to get its features back.",
        dedupe_key=f"{'trial-ended' if trial else 'expired'}:{sid}:"
        f"{subscription.term_end.isoformat()}",
        now=now,
    )
    await integration_events.emit(
        session,
        integration_events.SUBSCRIPTION_EXPIRED,
        subscription,
        integration_events.subscription_expired(subscription, trial=trial),
        now=now,
    )
    await record(
        session,
        "trial.ended" if trial else "subscription.expired",
        ("Subscription", sid),
        before=before,
        after=summary(subscription),
        now=now,
    )


async def lapse_renewal(
    session: AsyncSession, subscription_id: int, term_start: date, now: datetime
) -> None:
    """The declined automatic renewal into the term starting on `term_start` will not happen
    (the subscription expired, or an order renewed it): LAPSED, its open invoice voided here
    and, by a message queued now, at the provider (lapsed.py). One a webhook already copied
    PAID (its pay link paid in grace) gets the same message, which refunds it: the term it
    billed is never served. A PENDING one is never lapsed: its charge may have gone through
    (expiry and orders wait for its outcome instead)."""
    for renewal in await repo.renewals_of(session, subscription_id):
        if renewal.term_start != term_start or renewal.status is not RenewalStatus.DECLINED:
            continue
        renewal.status, renewal.completed_at = RenewalStatus.LAPSED, now
        renewal.next_attempt_on = None
        invoice = await session.get(Invoice, renewal.invoice_id)
        if invoice is None or invoice.status not in (InvoiceStatus.OPEN, InvoiceStatus.PAID):
            continue
        if invoice.status is InvoiceStatus.OPEN:
            outcomes.voided(invoice)
        charge = keys.renewal(subscription_id, renewal.term_start)
        await lapsed.void_at_provider(session, invoice.id or 0, charge, now)
