"""Notifications: one in-app row per billing contact of the customer, and an e-mail each,
sent by the worker through the configured mailer (`notification.email` in the outbox).

Recipients are the customer's owners and billing admins: viewers see the subscription but
are not who acts on a bill. A `dedupe_key` names the event (a subscription, a date, a
threshold), so a job or report that runs again notifies nobody twice."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.db.repositories import notifications as repo
from app.db.tables import Membership, Notification, PortalUser
from app.domain.enums import NotificationKind
from app.domain.errors import DomainError, ErrorCode
from app.providers.mailer import EmailMessage
from app.services import outbox

EMAIL = "notification.email"
MAX_MARK_READ = 100


async def notify(
    session: AsyncSession,
    *,
    customer_id: int,
    kind: NotificationKind,
    title: str,
    body: str,
    dedupe_key: str,
    now: datetime,
    subscription_id: int | None = None,
) -> int:
    """Notify the customer's billing contacts of one event, once: how many were new."""
    recipients = await _recipients(session, customer_id)
    already = await _already_notified(session, recipients, dedupe_key)
    created = 0
    for user_id in recipients:
        if user_id in already:
            continue
        notification = Notification(
            user_id=user_id,
            customer_id=customer_id,
            subscription_id=subscription_id,
            kind=kind,
            title=title,
            body=body,
            dedupe_key=dedupe_key,
            created_at=now,
        )
        session.add(notification)
        await session.flush()
        await outbox.enqueue(
            session,
            EMAIL,
            {"notification_id": notification.id},
            f"notification:{notification.id}:email",
            now=now,
        )
        created += 1
    return created


async def _recipients(session: AsyncSession, customer_id: int) -> list[int]:
    rows = await session.execute(
        sa.select(col(Membership.user_id))
        .where(col(Membership.customer_id) == customer_id)
        .where(col(Membership.role).in_(repo.RECIPIENT_ROLES))
        .order_by(col(Membership.user_id))
    )
    return list(rows.scalars())


async def _already_notified(
    session: AsyncSession, user_ids: list[int], dedupe_key: str
) -> set[int]:
    if not user_ids:
        return set()
    rows = await session.execute(
        sa.select(col(Notification.user_id))
        .where(col(Notification.dedupe_key) == dedupe_key)
        .where(col(Notification.user_id).in_(user_ids))
    )
    return set(rows.scalars())


async def email_of(session: AsyncSession, notification_id: int) -> EmailMessage | None:
    """The e-mail for one notification, or None when it no longer exists or its user is no
    longer a billing contact of the customer."""
    row = (
        await session.execute(
            sa.select(Notification, col(PortalUser.email))
            .join(PortalUser, col(PortalUser.id) == col(Notification.user_id))
            .where(col(Notification.id) == notification_id, repo.still_recipient())
        )
    ).first()
    if row is None:
        return None
    notification, address = row
    return EmailMessage(to=address, subject=notification.title, body=notification.body)


async def mark_read(
    session: AsyncSession, user_id: int, ids: Sequence[int] | None, now: datetime
) -> int:
    """Mark the user's notifications read: the given ids (all must be the user's own, or
    nothing changes: NOT_FOUND), or every unread one with None. How many changed."""
    if ids is not None:
        if len(ids) > MAX_MARK_READ:
            raise DomainError(ErrorCode.VALIDATION, f"At most {MAX_MARK_READ} ids at a time.")
        if await repo.owned_ids(session, user_id, ids) != set(ids):
            raise DomainError(ErrorCode.NOT_FOUND, "No such notification.")
    return await repo.mark_read(session, user_id, ids, now)
