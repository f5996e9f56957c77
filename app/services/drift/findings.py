"""Recording a check's outcome for one subscription: findings opened and closed, the repair
each policy row asks for, the sync status, and an audit row when that status changes.

A difference already recorded (same system, field and both values) and still open is not
recorded again, so re-running a check adds nothing: no second finding, no second task. A
finding whose difference is gone is resolved. Entitlement findings are repaired by pushing
the local copy again (to the system that differs), and a new one is checked again as soon
as its push is done; money findings raise one admin task
each and change nothing else. Any open difference leaves the subscription DRIFTED; a clean
check moves a DRIFTED one back to SYNCED."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.principals import Principal, PrincipalKind
from app.db.repositories import drift as repo
from app.db.tables import AdminTask, DriftFinding, Subscription
from app.domain.drift import Difference
from app.domain.enums import AdminTaskKind, DriftRepair, DriftSystem, SyncStatus
from app.services import audit, outbox

DRIFT_JOB = Principal(kind=PrincipalKind.SERVICE, id="drift-check", name="Drift check")
PUSHES = {DriftSystem.BILLING: outbox.BILLING_SYNC, DriftSystem.CRM: outbox.CRM_SYNC}
Key = tuple[DriftSystem, str, str | None, str | None]


def _key(found: Difference | DriftFinding) -> Key:
    if isinstance(found, DriftFinding):
        return (found.system, found.field, found.local_value, found.remote_value)
    return (found.system, found.field, found.local, found.remote)


async def record(
    session: AsyncSession,
    subscription: Subscription,
    differences: Sequence[Difference],
    open_findings: Sequence[DriftFinding],
    now: datetime,
) -> None:
    sid, before = subscription.id or 0, subscription.sync_status
    current = {_key(found) for found in differences}
    for finding in open_findings:
        if _key(finding) not in current:
            finding.resolved_at = now
    known = {_key(finding): finding for finding in open_findings if _key(finding) in current}
    new = [found for found in differences if _key(found) not in known]
    added = [_finding(sid, found, now) for found in new]
    session.add_all(added)
    await session.flush()
    await _raise_tasks(session, sid, [*known.values(), *added], now)
    repush = {found.system for found in differences if found.repair is DriftRepair.REPUSH}
    for system in sorted(repush):
        key = f"drift:{sid}:{system.value.lower()}:{now.isoformat()}"
        await outbox.enqueue(session, PUSHES[system], {"subscription_id": sid}, key, now=now)
    if any(found.repair is DriftRepair.REPUSH for found in new):
        # Recheck once the push is done (a subscription with a push to do is not compared);
        # a difference that outlives its push waits for the interval, so nothing loops.
        await repo.schedule(session, [sid], now)
    await _set_status(session, subscription, before, differences, now)


def _finding(sid: int, found: Difference, now: datetime) -> DriftFinding:
    repushed = found.repair is DriftRepair.REPUSH
    return DriftFinding(
        subscription_id=sid,
        system=found.system,
        field=found.field,
        local_value=None if found.local is None else found.local[:500],
        remote_value=None if found.remote is None else found.remote[:500],
        repair=found.repair,
        detected_at=now,
        repaired_at=now if repushed else None,  # the push is queued with the finding
    )


async def _raise_tasks(
    session: AsyncSession, sid: int, findings: Sequence[DriftFinding], now: datetime
) -> None:
    """One admin task per money finding, never a second one for the same finding."""
    money = [finding for finding in findings if finding.repair is DriftRepair.ADMIN_TASK]
    tasked = await repo.tasked_findings(session, [finding.id or 0 for finding in money])
    for finding in money:
        if finding.id in tasked:
            continue
        detail = (
            f"{finding.system.value} {finding.field}: local {finding.local_value}, "
            f"provider {finding.remote_value}. Money is never changed automatically."
        )
        session.add(
            AdminTask(
                subscription_id=sid,
                finding_id=finding.id,
                kind=AdminTaskKind.MONEY_DRIFT,
                detail=detail[:1000],
                created_at=now,
            )
        )


async def _set_status(
    session: AsyncSession,
    subscription: Subscription,
    before: SyncStatus,
    differences: Sequence[Difference],
    now: datetime,
) -> None:
    """DRIFTED while anything differs (set after queueing the re-push, which marks the
    subscription PENDING: the billing sync's own outcome sets SYNCED again); a clean check
    clears DRIFTED. An audit row at each change says what differed."""
    if differences:
        subscription.sync_status = SyncStatus.DRIFTED
    elif before is SyncStatus.DRIFTED:
        subscription.sync_status = SyncStatus.SYNCED
    if subscription.sync_status is before:
        return
    fields = sorted({f"{found.system.value}.{found.field}" for found in differences})
    action = "drift_detected" if differences else "drift_cleared"
    await audit.record(
        session,
        DRIFT_JOB,
        f"subscription.{action}",
        ("Subscription", subscription.id or 0),
        before={"sync_status": before.value},
        after={"sync_status": subscription.sync_status.value, "differs": fields},
        now=now,
    )
