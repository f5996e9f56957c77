"""computeUsageReport: the product reports compute minutes used on a deployment (docs/domain.md 7).

The minutes count in the current month (UTC, by the clock): first against the quota of the
live subscription's plan, then against its unexpired compute-minute packs, soonest expiry
first; what neither covers is recorded as `uncovered`. The event id makes a report count
once: the same id again returns the first report's split and changes nothing, the same id
with other minutes (or for another deployment) is IDEMPOTENCY_KEY_REUSED.

Concurrent reports for one deployment take turns on its row lock (PostgreSQL `FOR UPDATE`;
SQLite's write transaction is exclusive), so each one allocates from what the previous one
committed and no minute is lost or counted twice. A deployment with no live subscription (its
paid subscription or trial ended) is on the Free plan: the Free plan's quota, then the unexpired
packs bought on its earlier subscriptions, as provisioning told the product.

The event rows are the audit trail of usage (who reported, when, the request id); they are not
copied into the audit log, which would double every write of this high-volume call. No
provisioning push follows: the product reported the usage itself, the entitlement is unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.principals import Principal
from app.db.repositories import usage as repo
from app.db.tables import (
    ComputeUsageEvent,
    ComputeUsageMonth,
    ConsumablePurchase,
    Deployment,
    Subscription,
)
from app.domain.consumables import (
    Allocation,
    ComputeFigures,
    ComputeReport,
    MonthUsage,
    PackBalance,
    after_allocation,
    allocate,
    compute_figures,
    month_start,
    newly_reached_alert,
    spend,
)
from app.domain.enums import NotificationKind
from app.domain.errors import DomainError, ErrorCode
from app.services.notifications import notify
from app.services.usage import UNKNOWN_DEPLOYMENT, deployment_ref, require_product

EVENT_REUSED = DomainError(
    ErrorCode.IDEMPOTENCY_KEY_REUSED,
    "This event id was already reported with other minutes or for another deployment.",
)


@dataclass(frozen=True, slots=True)
class ComputeReportResult:
    event: ComputeUsageEvent
    duplicate: bool  # the event id was reported before: nothing changed
    subscription: Subscription | None
    figures: ComputeFigures


def pack_balances(packs: Sequence[ConsumablePurchase]) -> list[PackBalance]:
    return [PackBalance(p.id or 0, p.units, p.units_used, p.expires_on) for p in packs]


def month_usage(row: ComputeUsageMonth | None) -> MonthUsage:
    if row is None:
        return MonthUsage()
    return MonthUsage(row.quota_used, row.purchased_used, row.uncovered)


async def report_compute(
    session: AsyncSession,
    principal: Principal,
    *,
    deployment: str,
    event_id: str,
    minutes: int,
    now: datetime,
    request_id: str | None = None,
) -> ComputeReportResult:
    require_product(principal)
    report = ComputeReport.checked(event_id, minutes)
    found = await repo.deployment_by_external_id(session, deployment_ref(deployment), lock=True)
    if found is None or found.id is None:
        raise UNKNOWN_DEPLOYMENT
    subscription = await repo.live_subscription(session, found.id)
    existing = await repo.event_by_id(session, report.event_id)
    if existing is not None:
        if existing.deployment_id != found.id or existing.minutes != report.minutes:
            raise EVENT_REUSED
        figures = await current_figures(session, found, subscription, now)
        return ComputeReportResult(existing, True, subscription, figures)
    return await _record(session, principal, found, subscription, report, now, request_id)


async def _record(
    session: AsyncSession,
    principal: Principal,
    deployment: Deployment,
    subscription: Subscription | None,
    report: ComputeReport,
    now: datetime,
    request_id: str | None,
) -> ComputeReportResult:
    assert deployment.id is not None
    today = now.date()
    month = await repo.lock_month(session, deployment.id, month_start(today), now)
    packs = await _packs(session, deployment, subscription, today, lock=True)
    quota = await _quota(session, subscription)
    balances = pack_balances(packs)
    before = compute_figures(quota, month_usage(month), balances, today)
    allocation = allocate(
        report.minutes, quota_remaining=before.quota_remaining, packs=balances, today=today
    )
    _take(month, packs, allocation, now)
    after = compute_figures(quota, month_usage(month), spend(balances, allocation), today)
    event = ComputeUsageEvent(
        event_id=report.event_id,
        deployment_id=deployment.id,
        subscription_id=subscription.id if subscription else None,
        month=month.month,
        minutes=report.minutes,
        reported_by=principal.audit_actor[:64],
        request_id=(request_id or "")[:64] or None,
        reported_at=now,
        **_split(allocation),
    )
    if not await repo.insert_event(session, event.model_dump(exclude={"id"})):
        # Another deployment's report took this id meanwhile; the rollback undoes the above.
        raise EVENT_REUSED
    stored = await repo.event_by_id(session, report.event_id)
    assert stored is not None
    if subscription is not None:
        await _notify_threshold(session, deployment, subscription, before, after, now)
    return ComputeReportResult(stored, False, subscription, after)


def _take(
    month: ComputeUsageMonth,
    packs: Sequence[ConsumablePurchase],
    allocation: Allocation,
    now: datetime,
) -> None:
    used = after_allocation(month_usage(month), allocation)
    month.quota_used, month.purchased_used = used.quota_used, used.purchased_used
    month.uncovered = used.uncovered
    month.events += 1
    month.updated_at = now
    taken = dict(allocation.from_packs)
    for pack in packs:
        pack.units_used += taken.get(pack.id or 0, 0)


def _split(allocation: Allocation) -> dict[str, Any]:
    """Where the event's minutes went, as its columns."""
    return {
        "from_quota": allocation.from_quota,
        "from_purchased": allocation.from_purchased,
        "uncovered": allocation.uncovered,
        "packs": [[pack_id, taken] for pack_id, taken in allocation.from_packs],
    }


async def _packs(
    session: AsyncSession,
    deployment: Deployment,
    subscription: Subscription | None,
    today: date,
    *,
    lock: bool = False,
) -> list[ConsumablePurchase]:
    if subscription is None or subscription.id is None:
        assert deployment.id is not None
        return await repo.deployment_compute_packs(session, deployment.id, today, lock=lock)
    return await repo.compute_packs(session, subscription.id, lock=lock)


async def _quota(session: AsyncSession, subscription: Subscription | None) -> int:
    if subscription is None:
        return await repo.free_plan_quota(session)
    return (await repo.plan_of(session, subscription)).compute_quota_minutes or 0


async def current_figures(
    session: AsyncSession, deployment: Deployment, subscription: Subscription | None, now: datetime
) -> ComputeFigures:
    """The deployment's compute minutes this month, as they stand."""
    assert deployment.id is not None
    today = now.date()
    month = await repo.month_of(session, deployment.id, month_start(today))
    packs = await _packs(session, deployment, subscription, today)
    quota = await _quota(session, subscription)
    return compute_figures(quota, month_usage(month), pack_balances(packs), today)


async def _notify_threshold(
    session: AsyncSession,
    deployment: Deployment,
    subscription: Subscription,
    before: ComputeFigures,
    after: ComputeFigures,
    now: datetime,
) -> None:
    """Once per deployment, month and threshold (30%, 5%, 0% left)."""
    percentage = newly_reached_alert(before, after)
    if percentage is None:
        return
    month = after.period_start.strftime("%Y-%m")
    left = "No compute minutes are" if percentage == 0 else f"{percentage}% of compute minutes are"
    await notify(
        session,
        customer_id=subscription.customer_id,
        kind=NotificationKind.CONSUMABLE_THRESHOLD,
        title=f"{left} left on {deployment.name}",
        body=(
            f"{deployment.name} ({deployment.external_id}) has {after.available:,} of "
            f"{after.month_total:,} compute minutes left this month (quota and purchased "
            f"minutes). The monthly quota resets on {after.period_end.isoformat()}; buy a "
            "compute minutes pack to keep pipelines running until then."
        ),
        dedupe_key=f"compute-minutes:{deployment.id}:{month}:{percentage}",
        now=now,
        subscription_id=subscription.id,
    )
