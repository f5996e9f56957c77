"""The transactional outbox: work that must follow a committed change (provider calls,
provisioning) is written in the same transaction and carried out by the worker
(app/services/worker: claimed under a lease, handled per topic, retried with backoff)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.db.tables import OutboxMessage, Subscription
from app.db.types import utcnow
from app.domain.enums import ProvisioningStatus, SyncStatus

PROVISION = "provisioning.push"
BILLING_SYNC = "billing.sync_subscription"
CRM_SYNC = "crm.sync_subscription"  # app/services/crm_mirror.py


async def enqueue(
    session: AsyncSession,
    topic: str,
    payload: dict[str, Any],
    idempotency_key: str,
    *,
    now: datetime | None = None,
    ordering_key: str | None = None,
) -> None:
    """Queue a message once per key: enqueueing the same key again is a no-op. It is due at
    `now`: pass the runtime clock's time, so a worker on the same (test) clock sees it due;
    without it the wall clock is used. Messages given one `ordering_key` are carried out in
    the order they were queued, each after the one before is DONE or FAILED. Queueing a push
    or a billing sync for a subscription sets its provisioning or sync status to PENDING
    until the worker reports the outcome."""
    exists = await session.execute(
        sa.select(col(OutboxMessage.id)).where(
            col(OutboxMessage.idempotency_key) == idempotency_key
        )
    )
    if exists.first() is None:
        session.add(
            OutboxMessage(
                topic=topic,
                payload=payload,
                idempotency_key=idempotency_key,
                subscription_id=subscription_of(payload),
                available_at=now or utcnow(),
                ordering_key=ordering_key,
                created_at=now or utcnow(),  # the history's time for a push (business time)
            )
        )
        await _mark_pending(session, topic, subscription_of(payload))


def _provisioning_pending(subscription: Subscription) -> None:
    subscription.provisioning_status = ProvisioningStatus.PENDING


def _sync_pending(subscription: Subscription) -> None:
    subscription.sync_status = SyncStatus.PENDING


# What queueing a message of a topic says about its subscription until the worker is done.
_PENDING: Mapping[str, Callable[[Subscription], None]] = {
    PROVISION: _provisioning_pending,
    BILLING_SYNC: _sync_pending,
}


async def _mark_pending(session: AsyncSession, topic: str, subscription_id: int | None) -> None:
    mark = _PENDING.get(topic)
    if mark is None or subscription_id is None:
        return
    subscription = await session.get(Subscription, subscription_id)  # usually already loaded
    if subscription is not None:
        mark(subscription)


def subscription_of(payload: dict[str, Any]) -> int | None:
    """The subscription a message is about, when its payload names one."""
    found = payload.get("subscription_id")
    return found if isinstance(found, int) and not isinstance(found, bool) else None
