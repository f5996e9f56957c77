"""What the lifecycle jobs share: the system actor of their audit rows, the claim lease,
and the follow-up messages of a change of entitlement."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.principals import Principal, PrincipalKind
from app.db.repositories import lifecycle as repo
from app.db.tables import Reconciliation, Renewal, Subscription
from app.db.unit_of_work import unit_of_work
from app.domain.enums import NotificationKind
from app.runtime import Runtime
from app.services import audit, notifications, outbox, subscription_sync
from app.services.billing import keys
from app.services.worker.options import WorkerOptions

log = logging.getLogger("app.lifecycle")
T = TypeVar("T")

# The actor of every audit row the lifecycle jobs write.
SYSTEM = Principal(kind=PrincipalKind.SERVICE, id="billing-lifecycle", name="Billing lifecycle")

# A claimed renewal or reconciliation invoice must be charged within this time (the
# provider calls are bounded by it), so the claim and the order lease outlive the work.
CHARGE_TIMEOUT = timedelta(seconds=60)


@dataclass(frozen=True, slots=True)
class Claim:
    """Who holds a claimed row, and until when (the order lease expires at the same time).
    A job claims its batch at the start of a round, then renews each item's claim just
    before charging it (`hold`), so a slow batch never charges an item whose lease ran out."""

    worker_id: str
    until: datetime

    @classmethod
    def of(cls, options: WorkerOptions, now: datetime) -> Claim:
        return cls(options.worker_id, now + options.lease)


async def hold(
    session: AsyncSession, subscription_id: int, claim: Claim, options: WorkerOptions, now: datetime
) -> Claim | None:
    """Renew the subscription's lease taken with `claim` for a full lease from `now`; None
    when it was lost (an order or another worker took it after it ran out)."""
    renewed = Claim.of(options, now)
    if not await repo.renew_lease(session, subscription_id, claim.until, renewed.until):
        return None
    return renewed


async def hold_item(
    runtime: Runtime,
    options: WorkerOptions,
    item: tuple[type[Renewal] | type[Reconciliation], int],
    open_status: StrEnum,
    subscription_id: int,
    claim: Claim,
) -> Claim | None:
    """Just before an item's charge (earlier charges of the batch may have used up the
    round's lease): renew its claim and the subscription's lease; None when either was lost."""
    table, row_id = item
    async with unit_of_work(runtime.sessions) as session:
        row: Renewal | Reconciliation | None = await session.get(
            table, row_id, with_for_update=True
        )
        assert row is not None
        if row.status != open_status or row.claimed_by != claim.worker_id:
            return None
        held = await hold(session, subscription_id, claim, options, runtime.clock.now())
        if held is not None:
            row.claimed_until = held.until
        return held


async def follow_up(session: AsyncSession, subscription_id: int, key: str, now: datetime) -> None:
    """After a change of entitlement: push it to the product and sync the billing provider."""
    payload: dict[str, Any] = {"subscription_id": subscription_id}
    await outbox.enqueue(session, outbox.PROVISION, payload, f"{key}:provision", now=now)
    sync_key = keys.sync_message(key)
    await subscription_sync.queue(session, payload, sync_key, now=now)


async def notify(
    session: AsyncSession,
    subscription: Subscription,
    kind: NotificationKind,
    *,
    title: str,
    body: str,
    dedupe_key: str,
    now: datetime,
) -> None:
    await notifications.notify(
        session,
        customer_id=subscription.customer_id,
        kind=kind,
        title=title,
        body=body,
        dedupe_key=dedupe_key,
        now=now,
        subscription_id=subscription.id,
    )


async def record(
    session: AsyncSession,
    action: str,
    target: tuple[str, int],
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    now: datetime,
) -> None:
    await audit.record(session, SYSTEM, action, target, before=before, after=after, now=now)


def touch(subscription: Subscription, now: datetime) -> None:
    subscription.lock_version += 1
    subscription.updated_at = now


def summary(subscription: Subscription) -> dict[str, Any]:
    return {
        "status": subscription.status.value,
        "plan_id": subscription.plan_id,
        "seats": subscription.seats,
        "term_start": subscription.term_start.isoformat(),
        "term_end": subscription.term_end.isoformat(),
        "pending_plan_id": subscription.pending_plan_id,
    }


async def isolated(session: AsyncSession, label: str, step: Callable[[], Awaitable[T]]) -> T | None:
    """One item of a batch in a savepoint: an unexpected error undoes that item only (it
    stays due and is logged) instead of the whole batch, so one bad subscription never
    holds up the others. None when it failed."""
    try:
        async with session.begin_nested():
            return await step()
    except Exception:
        log.exception("%s failed; left due for a later round", label)
        return None


def outcome_settles(
    label: str,
    *,
    unsettled: bool,
    paid_already: bool,
    charged_paid: bool,
    payment_ref: str | None,
    ours: bool,
) -> bool:
    """Whether a charge's outcome may be recorded on its row (a renewal, a reconciliation).
    A successful charge is recorded even when the claim was lost, as long as nothing else
    settled the row (another holder replays the same payment key and finds it settled)."""
    if unsettled and (charged_paid or ours):
        return True
    if charged_paid and not paid_already:
        log.error("%s: payment %s succeeded but the row is settled otherwise", label, payment_ref)
    else:
        log.warning("%s: claim lost; outcome left to its holder", label)
    return False
