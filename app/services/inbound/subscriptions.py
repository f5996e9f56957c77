"""`SUBSCRIPTION` events (updated, deleted): is the provider's subscription still what the
local one sells? Its items (product, quantity, unit amount), auto-renew and term are compared
with what billing sync would send; the local copy reads DRIFTED when they differ and SYNCED
again when they agree, with an audit row at each change. Nothing is pushed to the provider
here: the next billing sync amends it back to the local state.

A subscription changed locally since it was read, or with a billing sync queued (PENDING),
is left to that sync, which decides its status itself."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.principals import Principal, PrincipalKind
from app.db.repositories import webhooks as repo
from app.db.tables import Subscription
from app.db.unit_of_work import unit_of_work
from app.domain.enums import SyncStatus
from app.providers.billing import BillingSubscriptionRecord
from app.runtime import Runtime
from app.services import audit
from app.services.billing import subscriptions as billing_sync
from app.services.inbound.refresh import Apply, Outcome, nothing_to_apply

WEBHOOKS = Principal(kind=PrincipalKind.SERVICE, id="billing-webhooks", name="Billing webhooks")


async def refresh(runtime: Runtime, ref: str) -> Apply:
    async with unit_of_work(runtime.sessions, write=False) as session:
        local = await repo.synced_by_ref(session, Subscription, ref, lock=False)
        if local is None:
            return nothing_to_apply(Outcome.UNKNOWN_OBJECT)
        expected = await billing_sync.local_state(session, local.id or 0)
    remote = (await runtime.providers.billing.get_subscriptions([ref])).get(ref)
    differs = differences(expected, remote)
    verdict = SyncStatus.DRIFTED if differs else SyncStatus.SYNCED
    seen_version = local.lock_version

    async def apply(session: AsyncSession, now: datetime) -> Outcome:
        row = await repo.synced_by_ref(session, Subscription, ref)
        if row is None:
            return Outcome.UNKNOWN_OBJECT
        if row.lock_version != seen_version or row.sync_status is SyncStatus.PENDING:
            return Outcome.LEFT_TO_LOCAL_CHANGE
        if row.sync_status is not verdict:
            await _mark(session, row, verdict, differs, now)
        return Outcome.REFRESHED

    return apply


async def _mark(
    session: AsyncSession,
    row: Subscription,
    verdict: SyncStatus,
    differs: list[str],
    now: datetime,
) -> None:
    """The new sync status, and an audit row of what the provider differs in."""
    before = {"sync_status": row.sync_status.value}
    row.sync_status = verdict
    await audit.record(
        session,
        WEBHOOKS,
        f"subscription.billing_{verdict.value.lower()}",
        ("Subscription", row.id or 0),
        before=before,
        after={"sync_status": verdict.value, "differs": differs},
        now=now,
    )


def differences(
    expected: billing_sync.LocalState, remote: BillingSubscriptionRecord | None
) -> list[str]:
    """What the provider's subscription has other than the local one sells (none: in sync)."""
    if remote is None:
        return ["missing"]
    local = expected.subscription
    found = []
    if Counter(remote.items) != Counter(expected.items):
        found.append("items")
    if remote.auto_renew != local.auto_renew:
        found.append("auto_renew")
    if (remote.term_start, remote.term_end) != (local.term_start, local.term_end):
        found.append("term")
    return found
