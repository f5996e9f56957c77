"""Reminders before a term ends: RENEWAL_REMINDER 15 days before a paid term ends (it says
whether the subscription will renew or end), TRIAL_ENDING 3 days before a trial ends. Each
is sent once per term end (a LifecycleEvent row); a reminder whose day passed while the
term had not yet ended is still sent, one whose term already ended is not."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.db.repositories import lifecycle as repo
from app.db.tables import LifecycleEvent, Subscription
from app.db.unit_of_work import unit_of_work
from app.domain.enums import NotificationKind, SubscriptionStatus
from app.domain.lifecycle import (
    LifecycleEventKind,
    renewal_reminders_until,
    trial_ending_notices_until,
)
from app.runtime import Runtime
from app.services.lifecycle.common import notify
from app.services.worker.options import WorkerOptions


class NoticesJob:
    name = "lifecycle-notices"

    def __init__(self, options: WorkerOptions) -> None:
        self.options = options

    async def run(self, runtime: Runtime, now: datetime) -> int:
        today, limit = now.date(), self.options.batch_size
        async with unit_of_work(runtime.sessions) as session:
            renewing = await repo.due_reminders(
                session,
                LifecycleEventKind.RENEWAL_REMINDER,
                SubscriptionStatus.ACTIVE,
                renewal_reminders_until(today),
                today,
                limit,
            )
            for subscription in renewing:
                await _renewal_reminder(session, subscription, now)
            trials = await repo.due_reminders(
                session,
                LifecycleEventKind.TRIAL_ENDING,
                SubscriptionStatus.TRIAL,
                trial_ending_notices_until(today),
                today,
                limit,
            )
            for subscription in trials:
                await _trial_ending(session, subscription, now)
        return len(renewing) + len(trials)


async def _renewal_reminder(
    session: AsyncSession, subscription: Subscription, now: datetime
) -> None:
    if not await _first(session, subscription, LifecycleEventKind.RENEWAL_REMINDER, now):
        return
    ends = subscription.term_end.isoformat()
    body = (
        f"Your subscription renews automatically on {ends}; the renewal invoice is charged "
        "to your payment method on file."
        if subscription.auto_renew
        else f"Your subscription ends on {ends} and will not renew; renew before then to keep it."
    )
    await notify(
        session,
        subscription,
        NotificationKind.RENEWAL_REMINDER,
        title=f"Subscription {subscription.number} term ends on {ends}",
        body=body,
        dedupe_key=f"renewal-reminder:{subscription.id}:{ends}",
        now=now,
    )


async def _trial_ending(session: AsyncSession, subscription: Subscription, now: datetime) -> None:
    if not await _first(session, subscription, LifecycleEventKind.TRIAL_ENDING, now):
        return
    ends = subscription.term_end.isoformat()
    await notify(
        session,
        subscription,
        NotificationKind.TRIAL_ENDING,
        title=f"Your trial ends on {ends}",
        body=f"The trial ends on {ends}; the deployment then goes back to the Free plan "
        "unless you buy a plan.",
        dedupe_key=f"trial-ending:{subscription.id}:{ends}",
        now=now,
    )


async def _first(
    session: AsyncSession, subscription: Subscription, kind: LifecycleEventKind, now: datetime
) -> bool:
    """Record the reminder for this term end; False if another worker already did."""
    event = LifecycleEvent(
        subscription_id=subscription.id or 0,
        kind=kind,
        due_on=subscription.term_end,
        created_at=now,
    )
    return await repo.add_once(session, event)
