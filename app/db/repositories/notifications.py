"""A user's notifications, newest first; only ever the caller's own rows."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.db.pagination import Page, PageRequest, fetch_page
from app.db.tables import Membership, Notification
from app.domain.enums import MemberRole

# Who is notified: the customer's billing contacts. Viewers see subscriptions, not bills.
RECIPIENT_ROLES = (MemberRole.OWNER, MemberRole.BILLING_ADMIN)


def still_recipient() -> sa.ColumnElement[bool]:
    """The notification's user is still a billing contact of its customer: someone removed
    (or made a viewer) no longer reads, or is mailed, what the customer was told."""
    return (
        sa.select(sa.literal(1))
        .where(
            col(Membership.user_id) == col(Notification.user_id),
            col(Membership.customer_id) == col(Notification.customer_id),
            col(Membership.role).in_(RECIPIENT_ROLES),
        )
        .exists()
    )


def _own(user_id: int, unread_only: bool = False) -> list[sa.ColumnElement[bool]]:
    conditions = [col(Notification.user_id) == user_id, still_recipient()]
    if unread_only:
        conditions.append(col(Notification.read_at).is_(None))
    return conditions


async def list_for_user(
    session: AsyncSession, user_id: int, page: PageRequest, *, unread_only: bool
) -> Page[Notification]:
    stmt = sa.select(Notification).where(*_own(user_id, unread_only))
    return await fetch_page(session, stmt, Notification.id, page)


async def unread_count(session: AsyncSession, user_id: int) -> int:
    stmt = sa.select(sa.func.count()).select_from(Notification).where(*_own(user_id, True))
    return int((await session.execute(stmt)).scalar_one())


async def owned_ids(session: AsyncSession, user_id: int, ids: Sequence[int]) -> set[int]:
    stmt = sa.select(col(Notification.id)).where(
        col(Notification.id).in_(sorted(set(ids))), *_own(user_id)
    )
    return {pk for pk in (await session.execute(stmt)).scalars() if pk is not None}


async def mark_read(
    session: AsyncSession, user_id: int, ids: Sequence[int] | None, now: datetime
) -> int:
    """Mark the given (or, with None, all) unread notifications of the user read."""
    stmt = sa.update(Notification).where(*_own(user_id, True)).values(read_at=now)
    if ids is not None:
        stmt = stmt.where(col(Notification.id).in_(sorted(set(ids))))
    result = await session.execute(stmt)
    return int(result.rowcount)  # type: ignore[attr-defined]


async def by_id_for_user(session: AsyncSession, user_id: int, pk: int) -> Notification | None:
    stmt = sa.select(Notification).where(col(Notification.id) == pk, *_own(user_id))
    return (await session.execute(stmt)).scalar_one_or_none()
