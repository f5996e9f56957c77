"""Notifications: one in-app row per billing contact of the customer, and an e-mail each,
sent by the worker through the configured mailer (`notification.email` in the outbox).

Recipients are the customer's owners and billing admins: viewers see the subscription but
are not who acts on a bill. A `dedupe_key` names the event (a subscription, a date, a
threshold), so a job or report that runs again notifies nobody twice."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.db.tables import Membership, Notification
from app.domain.enums import MemberRole, NotificationKind
from app.services import outbox

EMAIL = "notification.email"
RECIPIENT_ROLES = (MemberRole.OWNER, MemberRole.BILLING_ADMIN)


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
        .where(col(Membership.role).in_(RECIPIENT_ROLES))
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
