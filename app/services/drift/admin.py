"""What admins do about drift: resync a subscription (push the local copy to the billing
provider and the CRM again, then check it at once), and resolve an admin task once they have
dealt with it at the provider. Each is audited with the admin's reason; a refusal (unknown
id, no reason, a task already resolved) changes nothing."""

from __future__ import annotations

from datetime import datetime
from uuid import uuid4

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.principals import Principal
from app.db.tables import AdminTask, Subscription
from app.domain.enums import AdminTaskStatus
from app.domain.errors import DomainError, ErrorCode
from app.services import audit, subscription_sync
from app.services.drift.job import check_now


def _attributed(principal: Principal, reason: str, request_id: str | None) -> audit.Attribution:
    attributed = audit.attribution(principal, reason, request_id)
    if attributed.reason is None:  # required of everyone here, not only of admins
        raise DomainError(ErrorCode.VALIDATION, "A `reason` is required; none was given.")
    return attributed


async def resync(
    session: AsyncSession,
    principal: Principal,
    subscription_id: int,
    reason: str,
    *,
    now: datetime,
    request_id: str | None = None,
) -> Subscription:
    """Queue the billing and CRM pushes and a drift check due now (the check waits for the
    pushes: a subscription with a push to do is not compared)."""
    attributed = _attributed(principal, reason, request_id)
    subscription = await session.get(Subscription, subscription_id, with_for_update=True)
    if subscription is None:
        raise DomainError(ErrorCode.NOT_FOUND, "No such subscription.")
    before = {"sync_status": subscription.sync_status.value}
    payload = {"subscription_id": subscription_id}
    await subscription_sync.queue(session, payload, f"resync:{uuid4().hex}", now=now)
    await check_now(session, subscription_id, now)
    await audit.record(
        session,
        principal,
        "subscription.resync",
        ("Subscription", subscription_id),
        before=before,
        after={"sync_status": subscription.sync_status.value},
        attributed=attributed,
        now=now,
    )
    return subscription


async def resolve_task(
    session: AsyncSession,
    principal: Principal,
    task_id: int,
    reason: str,
    *,
    now: datetime,
    request_id: str | None = None,
) -> AdminTask:
    """Mark the task RESOLVED with the reason; nothing else changes (money included)."""
    attributed = _attributed(principal, reason, request_id)
    task = await session.get(AdminTask, task_id, with_for_update=True)
    if task is None:
        raise DomainError(ErrorCode.NOT_FOUND, "No such admin task.")
    if task.status is AdminTaskStatus.RESOLVED:
        raise DomainError(ErrorCode.VALIDATION, "This admin task is already resolved.")
    task.status, task.resolved_at = AdminTaskStatus.RESOLVED, now
    task.resolved_by = (principal.name or principal.id or principal.kind.value)[:200]
    task.resolution = attributed.reason
    await audit.record(
        session,
        principal,
        "admin_task.resolved",
        ("AdminTask", task_id),
        before={"status": AdminTaskStatus.OPEN.value},
        after={"status": AdminTaskStatus.RESOLVED.value},
        attributed=attributed,
        now=now,
    )
    return task
