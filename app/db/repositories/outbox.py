"""The outbox's SQL: claiming due messages under a lease, the claimed row at finish time, and
a subscription's latest message of a topic.

Claiming is safe with any number of workers: on PostgreSQL the candidates are locked
`FOR UPDATE SKIP LOCKED` (a row another claimer holds is passed over, never waited for) and
marked with the lease in the same short transaction; on SQLite the claim runs in a write
unit of work (BEGIN IMMEDIATE), so claimers take turns.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import col

from app.db.tables import OutboxMessage
from app.domain.enums import OutboxStatus


def _claimable(now: datetime) -> sa.ColumnElement[bool]:
    """Not under a live lease: never claimed, released, or its worker's lease ran out."""
    return sa.or_(col(OutboxMessage.locked_until).is_(None), col(OutboxMessage.locked_until) <= now)


async def claim_due(
    session: AsyncSession,
    *,
    topics: Collection[str],
    now: datetime,
    worker_id: str,
    lease_until: datetime,
    limit: int,
) -> list[OutboxMessage]:
    """Claim up to `limit` due messages of `topics`, oldest due first, for `worker_id` until
    `lease_until`. A message whose subscription already has a message of the same topic
    under a live lease waits, and one claim takes at most one message per subscription and
    topic: handlers push a subscription's current state, so two in flight could race. A
    message with an ordering key waits while an older message with that key is PENDING
    (in flight, or waiting for its retry): they are carried out one by one, in order."""
    if not topics or limit <= 0:
        return []
    message = OutboxMessage
    other = aliased(OutboxMessage)
    busy = (
        sa.select(sa.literal(1))
        .where(
            col(other.subscription_id) == col(message.subscription_id),
            col(other.topic) == col(message.topic),
            col(other.status) == OutboxStatus.PENDING,
            col(other.locked_until) > now,
        )
        .exists()
    )
    earlier = aliased(OutboxMessage)
    queued_behind = (
        sa.select(sa.literal(1))
        .where(
            col(earlier.ordering_key) == col(message.ordering_key),
            col(earlier.status) == OutboxStatus.PENDING,
            col(earlier.id) < col(message.id),
        )
        .exists()
    )
    stmt = (
        sa.select(message)
        .where(
            col(message.status) == OutboxStatus.PENDING,
            col(message.available_at) <= now,
            col(message.topic).in_(sorted(topics)),
            _claimable(now),
            ~busy,
            sa.or_(col(message.ordering_key).is_(None), ~queued_behind),
        )
        .order_by(col(message.available_at), col(message.id))
        .limit(limit)
        .with_for_update(skip_locked=True, of=message)
    )
    candidates = (await session.scalars(stmt)).all()
    chosen: list[OutboxMessage] = []
    taken: set[tuple[str, int]] = set()
    for row in candidates:
        if row.subscription_id is not None:
            if (row.topic, row.subscription_id) in taken:
                continue
            taken.add((row.topic, row.subscription_id))
        chosen.append(row)
    if not chosen:
        return []
    await session.execute(
        sa.update(message)
        .where(col(message.id).in_([row.id for row in chosen]))
        .values(locked_by=worker_id, locked_until=lease_until)
        .execution_options(synchronize_session=False)
    )
    for row in chosen:  # as written, without marking the rows dirty
        set_committed_value(row, "locked_by", worker_id)
        set_committed_value(row, "locked_until", lease_until)
    return chosen


async def claimed_for_update(
    session: AsyncSession, message_id: int, worker_id: str
) -> OutboxMessage | None:
    """The message, row-locked, if `worker_id` still holds its claim (None when the lease ran
    out and another worker took it over, or it was finished meanwhile)."""
    stmt = (
        sa.select(OutboxMessage)
        .where(
            col(OutboxMessage.id) == message_id,
            col(OutboxMessage.status) == OutboxStatus.PENDING,
            col(OutboxMessage.locked_by) == worker_id,
        )
        .with_for_update()
    )
    return (await session.scalars(stmt)).first()


async def superseded(session: AsyncSession, message_id: int) -> bool:
    """Whether a newer message of the same topic for the same subscription is still to do
    (its outcome, not this one's, will be the subscription's status)."""
    other = aliased(OutboxMessage)
    stmt = (
        sa.select(sa.literal(1))
        .select_from(OutboxMessage)
        .join(
            other,
            sa.and_(
                col(other.subscription_id) == col(OutboxMessage.subscription_id),
                col(other.topic) == col(OutboxMessage.topic),
                col(other.id) > col(OutboxMessage.id),
            ),
        )
        .where(col(OutboxMessage.id) == message_id, col(other.status) == OutboxStatus.PENDING)
        .limit(1)
    )
    return (await session.execute(stmt)).first() is not None


async def latest_by_subscription(
    session: AsyncSession, topic: str, subscription_ids: Sequence[int]
) -> dict[int, OutboxMessage]:
    """Each subscription's newest message of `topic` (subscriptions without one are absent)."""
    if not subscription_ids:
        return {}
    wanted = sorted(set(subscription_ids))
    newest = (
        sa.select(sa.func.max(col(OutboxMessage.id)))
        .where(
            col(OutboxMessage.topic) == topic,
            col(OutboxMessage.subscription_id).in_(wanted),
        )
        .group_by(col(OutboxMessage.subscription_id))
    )
    stmt = sa.select(OutboxMessage).where(col(OutboxMessage.id).in_(newest))
    rows = (await session.scalars(stmt)).all()
    return {row.subscription_id: row for row in rows if row.subscription_id is not None}


async def backlog(session: AsyncSession) -> Sequence[tuple[str, OutboxStatus, int, datetime]]:
    """Per topic and status, not-done messages: how many and the oldest's creation time
    (the /metrics gauges). One grouped query over the status index; done rows are skipped."""
    statement = (
        sa.select(
            col(OutboxMessage.topic),
            col(OutboxMessage.status),
            sa.func.count(),
            sa.func.min(col(OutboxMessage.created_at)),
        )
        .where(col(OutboxMessage.status).in_([OutboxStatus.PENDING, OutboxStatus.FAILED]))
        .group_by(col(OutboxMessage.topic), col(OutboxMessage.status))
    )
    rows = (await session.execute(statement)).all()
    return [(topic, status, count, oldest) for topic, status, count, oldest in rows]
