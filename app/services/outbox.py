"""The transactional outbox: work that must follow a committed change (provider calls,
provisioning) is written in the same transaction and carried out by the worker."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.db.tables import OutboxMessage

PROVISION = "provisioning.push"
BILLING_SYNC = "billing.sync_subscription"


async def enqueue(
    session: AsyncSession, topic: str, payload: dict[str, Any], idempotency_key: str
) -> None:
    """Queue a message once per key: enqueueing the same key again is a no-op."""
    exists = await session.execute(
        sa.select(col(OutboxMessage.id)).where(
            col(OutboxMessage.idempotency_key) == idempotency_key
        )
    )
    if exists.first() is None:
        session.add(OutboxMessage(topic=topic, payload=payload, idempotency_key=idempotency_key))
