"""Queueing the pushes that follow a change of a subscription: the billing provider's copy
(`billing.sync_subscription`) and, beside it, the CRM's mirror (`crm.sync_subscription`).
Every caller that syncs billing goes through `queue`, so the CRM never misses a change."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.services import outbox


async def queue(
    session: AsyncSession, payload: dict[str, Any], key: str, *, now: datetime | None
) -> None:
    """Both messages, once per `key` (the CRM's under `key` + ":crm"). The billing sync sets
    the subscription PENDING until it is done; the CRM push leaves the sync status alone."""
    await outbox.enqueue(session, outbox.BILLING_SYNC, payload, key, now=now)
    await queue_crm(session, payload["subscription_id"], key, now=now)


async def queue_crm(
    session: AsyncSession, subscription_id: int, key: str, *, now: datetime | None
) -> None:
    """The CRM's mirror alone (under `key` + ":crm"): for a subscription whose billing copy
    exists already, as the demo's local ledger rows do."""
    mirror = {"subscription_id": subscription_id}
    await outbox.enqueue(session, outbox.CRM_SYNC, mirror, f"{key}:crm", now=now)
