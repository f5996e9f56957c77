"""Drift checks, findings and admin tasks."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.db.repositories.common import children
from app.db.tables import AdminTask, DriftCheck, DriftFinding, Invoice, OutboxMessage, Subscription
from app.domain.enums import LIVE_STATUSES, AdminTaskStatus, OutboxStatus


async def due_for_check(
    session: AsyncSession, now: datetime, topics: Sequence[str], limit: int
) -> list[Subscription]:
    """Live subscriptions whose check is due (never checked, or due by now), oldest id first,
    locked (SKIP LOCKED) for the caller to move their next check on. One with a push of
    `topics` still to do is left until it is done: it would be compared mid-way."""
    scheduled = (
        sa.select(sa.literal(1))
        .where(
            col(DriftCheck.subscription_id) == col(Subscription.id),
            col(DriftCheck.due_at) > now,
        )
        .exists()
    )
    pushing = (
        sa.select(sa.literal(1))
        .where(
            col(OutboxMessage.subscription_id) == col(Subscription.id),
            col(OutboxMessage.topic).in_(topics),
            col(OutboxMessage.status) == OutboxStatus.PENDING,
        )
        .exists()
    )
    stmt = (
        sa.select(Subscription)
        .where(col(Subscription.status).in_(LIVE_STATUSES), ~scheduled, ~pushing)
        .order_by(col(Subscription.id))
        .limit(limit)
        .with_for_update(skip_locked=True, of=Subscription)
    )
    return list((await session.scalars(stmt)).all())


async def locked(session: AsyncSession, subscription_ids: Sequence[int]) -> dict[int, Subscription]:
    """The subscriptions, re-read and locked FOR UPDATE in one statement."""
    if not subscription_ids:
        return {}
    stmt = (
        sa.select(Subscription)
        .where(col(Subscription.id).in_(sorted(subscription_ids)))
        .order_by(col(Subscription.id))
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return {row.id or 0: row for row in (await session.scalars(stmt)).all()}


async def schedule(
    session: AsyncSession, subscription_ids: Sequence[int], due_at: datetime
) -> None:
    """Each subscription's next check at `due_at` (a row made for one never checked)."""
    existing = await checks_of(session, subscription_ids)
    for sid in subscription_ids:
        check = existing.get(sid) or DriftCheck(subscription_id=sid, due_at=due_at)
        check.due_at = due_at
        session.add(check)
    await session.flush()


async def checks_of(
    session: AsyncSession, subscription_ids: Sequence[int]
) -> dict[int, DriftCheck]:
    if not subscription_ids:
        return {}
    stmt = sa.select(DriftCheck).where(col(DriftCheck.subscription_id).in_(subscription_ids))
    return {row.subscription_id: row for row in (await session.scalars(stmt)).all()}


async def open_findings(
    session: AsyncSession, subscription_ids: Sequence[int]
) -> dict[int, list[DriftFinding]]:
    resolved = col(DriftFinding.resolved_at)
    return await children(
        session, DriftFinding, DriftFinding.subscription_id, subscription_ids, resolved.is_(None)
    )


async def findings_by_subscription(
    session: AsyncSession, subscription_ids: Sequence[int]
) -> dict[int, list[DriftFinding]]:
    """Every finding, newest first (the API shows the open ones unless asked for all)."""
    order = (col(DriftFinding.id).desc(),)
    return await children(
        session, DriftFinding, DriftFinding.subscription_id, subscription_ids, order_by=order
    )


async def issued_invoices(
    session: AsyncSession, subscription_ids: Sequence[int]
) -> dict[int, list[Invoice]]:
    """The subscriptions' invoices issued at the billing provider (those with its ref)."""
    issued = col(Invoice.provider_ref).is_not(None)
    return await children(session, Invoice, Invoice.subscription_id, subscription_ids, issued)


async def tasked_findings(session: AsyncSession, finding_ids: Sequence[int]) -> set[int]:
    """The findings that already have an admin task (open or resolved)."""
    if not finding_ids:
        return set()
    stmt = sa.select(col(AdminTask.finding_id)).where(col(AdminTask.finding_id).in_(finding_ids))
    return {found for found in (await session.scalars(stmt)).all() if found is not None}


async def list_tasks(
    session: AsyncSession, status: AdminTaskStatus | None, limit: int
) -> list[AdminTask]:
    """Oldest first: the longest waiting on top."""
    stmt = sa.select(AdminTask).order_by(col(AdminTask.id)).limit(limit)
    if status is not None:
        stmt = stmt.where(col(AdminTask.status) == status)
    return list((await session.scalars(stmt)).all())
