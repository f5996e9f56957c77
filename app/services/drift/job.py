"""The drift job: compare every live subscription with the billing provider and the CRM,
DRIFT_CHECK_BATCH_SIZE at a time, each again every DRIFT_CHECK_INTERVAL_SECONDS (0: off).

One batch: (1) in one transaction, take the due subscriptions (SKIP LOCKED) and move their
next check on by the interval, so another worker takes other ones and a crash only delays
a check; (2) read the local copies in a fixed number of statements; (3) read the remote
copies with one call per read kind for the whole batch: billing `get_subscriptions`,
billing `get_invoices`, CRM `get_subscriptions`; (4) record each subscription's outcome
(findings.py) unless it, or the money of one of its invoices, changed locally since it was
read (a payment recorded in between would read as drift): that change's own pushes and the
next check decide then.

`check_now` marks one subscription due at once (`subscriptionResync`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app.db.repositories import catalog
from app.db.repositories import drift as repo
from app.db.repositories.common import by_ids
from app.db.tables import Invoice, Subscription
from app.db.unit_of_work import unit_of_work
from app.domain.drift import Difference
from app.providers.crm import CrmSubscription
from app.runtime import Runtime
from app.services import crm_mirror, outbox
from app.services.billing.subscriptions import LocalState, local_states
from app.services.drift import compare, findings
from app.services.worker.options import WorkerOptions

PUSH_TOPICS = (outbox.BILLING_SYNC, outbox.CRM_SYNC)


@dataclass(frozen=True, slots=True)
class Local:
    """One subscription's local copies, as read for the batch."""

    subscription: Subscription
    billing: LocalState | None  # None: nothing to compare at the provider
    plan_code: str
    invoices: list[Invoice]
    mirror: CrmSubscription | None  # None: its customer has no CRM account


class DriftJob:
    name = "drift-check"

    def __init__(self, options: WorkerOptions) -> None:
        self.options = options

    async def run(self, runtime: Runtime, now: datetime) -> int:
        interval = runtime.settings.drift_check_interval_seconds
        if not interval:
            return 0
        limit = runtime.settings.drift_check_batch_size
        next_at = now + timedelta(seconds=interval)
        async with unit_of_work(runtime.sessions) as session:
            due = await repo.due_for_check(session, now, PUSH_TOPICS, limit)
            await repo.schedule(session, [row.id or 0 for row in due], next_at)
        if due:
            await check(runtime, [row.id or 0 for row in due], now)
        return len(due)


async def check_now(session: AsyncSession, subscription_id: int, now: datetime) -> None:
    await repo.schedule(session, [subscription_id], now)


async def check(runtime: Runtime, subscription_ids: Sequence[int], now: datetime) -> None:
    async with unit_of_work(runtime.sessions, write=False) as session:
        batch = await _local(session, subscription_ids)
    differences = await _compare(runtime, batch)
    async with unit_of_work(runtime.sessions) as session:
        locked = await repo.locked(session, list(differences))
        invoices = await repo.issued_invoices(session, list(differences))
        still_open = await repo.open_findings(session, list(differences))
        for sid, found in differences.items():
            row, seen = locked.get(sid), batch[sid]
            if row is None or row.lock_version != seen.subscription.lock_version:
                continue  # changed since it was read: its own sync and the next check decide
            if _money(invoices[sid]) != _money(seen.invoices):
                continue  # paid (or voided) meanwhile: the provider was read after that
            await findings.record(session, row, found, still_open[sid], now)


def _money(invoices: Sequence[Invoice]) -> list[tuple[int | None, int, int, str]]:
    return sorted((i.id, i.total, i.amount_paid, i.status.value) for i in invoices)


async def _local(session: AsyncSession, subscription_ids: Sequence[int]) -> dict[int, Local]:
    rows = await _subscriptions(session, subscription_ids)
    states = await local_states(session, [row for row in rows if row.provider_ref])
    plans = await catalog.products_by_ids(session, [row.plan_id for row in rows])
    invoices = await repo.issued_invoices(session, [row.id or 0 for row in rows])
    mirrors = await crm_mirror.mirrors(session, rows)
    return {
        row.id or 0: Local(
            subscription=row,
            billing=states.get(row.id or 0),
            plan_code=plans[row.plan_id].code,
            invoices=invoices[row.id or 0],
            mirror=mirrors.get(row.id or 0),
        )
        for row in rows
        if row.plan_id in plans
    }


async def _subscriptions(session: AsyncSession, ids: Sequence[int]) -> list[Subscription]:
    found = await by_ids(session, Subscription, ids)
    return [found[sid] for sid in sorted(found)]


async def _compare(runtime: Runtime, batch: dict[int, Local]) -> dict[int, list[Difference]]:
    """Three provider calls for the whole batch, then the comparison per subscription."""
    billing, crm = runtime.providers.billing, runtime.providers.crm
    refs = [local.subscription.provider_ref or "" for local in _billed(batch)]
    invoice_refs = [
        invoice.provider_ref or "" for local in _billed(batch) for invoice in local.invoices
    ]
    numbers = [local.mirror.ref for local in batch.values() if local.mirror is not None]
    remote = await billing.get_subscriptions(refs) if refs else {}
    remote_invoices = await billing.get_invoices(invoice_refs) if invoice_refs else {}
    mirrored = await crm.get_subscriptions(numbers) if numbers else {}
    found: dict[int, list[Difference]] = {}
    for sid, local in batch.items():
        differences: list[Difference] = []
        if local.billing is not None:
            ref = local.subscription.provider_ref or ""
            differences += compare.billing_differences(
                local.billing, local.plan_code, remote.get(ref)
            )
            differences += compare.invoice_differences(local.invoices, remote_invoices)
        if local.mirror is not None:
            differences += compare.crm_differences(local.mirror, mirrored.get(local.mirror.ref))
        found[sid] = differences
    return found


def _billed(batch: dict[int, Local]) -> list[Local]:
    return [local for local in batch.values() if local.billing is not None]
