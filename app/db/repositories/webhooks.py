"""Webhook events' SQL: storing a delivery once per event id, and the local rows an event's
object ref names (found by their `provider_ref`, locked for the refresh)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.db.tables import BillingAccount, Invoice, Subscription, WebhookEvent

Synced = TypeVar("Synced", Invoice, BillingAccount, Subscription)


async def insert_once(session: AsyncSession, values: dict[str, Any]) -> int | None:
    """Insert the event unless one with its provider and event id exists: the new row's id,
    or None for a replay. A concurrent delivery of the same event waits on the unique key
    (PostgreSQL) or the write lock (SQLite) and then finds the first one's row."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = (
        insert(WebhookEvent)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["provider", "event_id"])
        .returning(col(WebhookEvent.id))
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def synced_by_ref(
    session: AsyncSession, table: type[Synced], ref: str, *, lock: bool = True
) -> Synced | None:
    """The local copy of a provider object; locked until the refresh commits, so concurrent
    refreshes of one object take turns and each sees the rows the other added."""
    stmt = sa.select(table).where(col(table.provider_ref) == ref).order_by(col(table.id)).limit(1)
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    return (await session.scalars(stmt)).first()


async def mark_processed(session: AsyncSession, event_id: int, outcome: str, now: datetime) -> None:
    await session.execute(
        sa.update(WebhookEvent)
        .where(col(WebhookEvent.id) == event_id)
        .values(processed_at=now, outcome=outcome)
    )
