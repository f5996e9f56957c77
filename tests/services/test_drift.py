"""The drift job (app/services/drift/): a seat count changed at the billing provider and a
plan changed in the CRM are found, re-pushed and cleared by the next check; an invoice total
changed at the provider raises one admin task and moves no money; a batch costs a constant
number of provider calls."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from app.auth.principals import Principal, PrincipalKind
from app.clock import FixedClock
from app.config import Settings
from app.db.tables import (
    AdminTask,
    AuditEvent,
    CrmAccountRecord,
    CrmSubscriptionRecord,
    DriftCheck,
    DriftFinding,
    Invoice,
    LedgerInvoice,
    LedgerSubscription,
    OutboxMessage,
    Subscription,
)
from app.domain.enums import (
    AdminTaskStatus,
    DriftRepair,
    DriftSystem,
    InvoiceStatus,
    OutboxStatus,
    SyncStatus,
)
from app.providers.billing import InvoiceLineRecord, NewInvoice
from app.providers.crm import CrmAccount
from app.providers.registry import build_providers
from app.runtime import Runtime, build_runtime
from app.services import outbox, subscription_sync
from app.services.drift import admin
from app.services.drift.job import DriftJob
from app.services.worker.options import WorkerOptions
from app.services.worker.outbox import OutboxJob
from tests.support import factories as f
from tests.support.counting_billing import CountingBilling

START = datetime(2026, 6, 1, 12, tzinfo=UTC)
INTERVAL = timedelta(hours=6)
OPTIONS = WorkerOptions(jitter=0, worker_id="worker-a")
READS = frozenset({"get_subscriptions", "get_invoices"})


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
def billing() -> str:
    """The local provider, also under TEST_BILLING_PROVIDER=stripe: the tests change its
    ledger's rows behind the app's back."""
    return "local"


@pytest.fixture
def drift_settings(app_settings: Settings) -> Settings:
    update = {"drift_check_interval_seconds": int(INTERVAL.total_seconds())}
    return app_settings.model_copy(update=update | {"drift_check_batch_size": 50})


@pytest.fixture
def calls() -> Counter[str]:
    return Counter()


@pytest.fixture
def crm_calls() -> Counter[str]:
    return Counter()


@pytest.fixture
def runtime(
    drift_settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    clock: FixedClock,
    calls: Counter[str],
    crm_calls: Counter[str],
) -> Runtime:
    """Local providers; billing writes and reads counted in `calls`, CRM reads in
    `crm_calls` (the counting wrapper counts any provider's methods by name)."""
    providers = build_providers(drift_settings, session_factory, clock)
    counted = replace(
        providers,
        billing=CountingBilling(providers.billing, calls, READS | _WRITES),  # type: ignore[arg-type]
        crm=CountingBilling(providers.crm, crm_calls, {"get_subscriptions"}),  # type: ignore[arg-type]
    )
    runtime = build_runtime(
        drift_settings, sessions=session_factory, clock=clock, providers=counted
    )
    runtime.crm_calls = crm_calls  # type: ignore[attr-defined]
    return runtime


_WRITES = frozenset(
    {"create_account", "create_subscription", "amend_subscription", "create_invoice"}
    | {"collect_payment", "void_invoice", "refund_payment", "cancel_subscription"}
)


async def run_outbox(runtime: Runtime) -> None:
    while await OutboxJob(OPTIONS).run(runtime, runtime.clock.now()):
        pass


async def check(runtime: Runtime) -> int:
    return await DriftJob(OPTIONS).run(runtime, runtime.clock.now())


@pytest.fixture
async def sub(db: AsyncSession, runtime: Runtime) -> Subscription:
    """Premium x10 with Duo Pro x5, its customer in the CRM, synced to both systems, and an
    invoice issued at the billing provider whose local copy agrees."""
    customer = await f.customer(db, crm_ref="crm-acme")
    await runtime.providers.crm.upsert_account(
        CrmAccount("crm-acme", "Acme", "MID_MARKET", "Dana", "dana@vendor.test")
    )
    found = await f.subscription(db, customer, seats=10)
    await f.add_on(db, found, "duo_pro", quantity=5)
    await subscription_sync.queue(db, {"subscription_id": found.id}, "setup", now=START)
    await db.commit()
    await run_outbox(runtime)
    await db.refresh(found)
    remote = (await runtime.providers.billing.get_subscriptions([found.provider_ref or ""]))[
        found.provider_ref or ""
    ]
    issued = await runtime.providers.billing.create_invoice(
        NewInvoice(
            account_ref=remote.account_ref,
            subscription_ref=remote.ref,
            currency="USD",
            lines=(InvoiceLineRecord("Premium", 10, 34_800, 348_000),),
            due_on=date(2026, 7, 1),
        ),
        idempotency_key="setup-invoice",
    )
    await f.invoice(db, found, (348_000,), provider_ref=issued.ref, sync_status=SyncStatus.SYNCED)
    await db.commit()
    runtime.providers.billing.calls.clear()  # type: ignore[attr-defined]  # the wrapper's
    return found


async def fresh(runtime: Runtime, table: Any, pk: Any) -> Any:
    async with runtime.sessions() as session:
        return await session.get(table, pk, populate_existing=True)


async def rows(runtime: Runtime, table: Any, *where: Any) -> list[Any]:
    async with runtime.sessions() as session:
        stmt = sa.select(table).where(*where).order_by(col(table.id))
        return list((await session.scalars(stmt)).all())


async def pending_pushes(runtime: Runtime) -> list[str]:
    found = await rows(runtime, OutboxMessage, col(OutboxMessage.status) == OutboxStatus.PENDING)
    return sorted(message.topic for message in found)


async def test_a_clean_subscription_is_checked_and_left_synced(
    sub: Subscription, runtime: Runtime, calls: Counter[str]
) -> None:
    assert await check(runtime) == 1

    assert (await fresh(runtime, Subscription, sub.id)).sync_status is SyncStatus.SYNCED
    assert await rows(runtime, DriftFinding) == []
    assert await pending_pushes(runtime) == []
    assert calls == {"get_subscriptions": 1, "get_invoices": 1}
    assert await check(runtime) == 0  # not due again before the interval


async def test_seats_changed_at_the_provider_are_found_and_pushed_back(
    db: AsyncSession, sub: Subscription, runtime: Runtime, clock: FixedClock, calls: Counter[str]
) -> None:
    ledger = (await rows(runtime, LedgerSubscription))[0]
    items = [dict(item) for item in ledger.items]
    assert items[0]["product_code"] == "premium"
    items[0]["quantity"] = 12
    await db.execute(sa.update(LedgerSubscription).values(items=items))
    await db.commit()

    await check(runtime)

    row = await fresh(runtime, Subscription, sub.id)
    assert row.sync_status is SyncStatus.DRIFTED
    (finding,) = await rows(runtime, DriftFinding)
    assert (finding.system, finding.field, finding.local_value, finding.remote_value) == (
        DriftSystem.BILLING,
        "seats",
        "10",
        "12",
    )
    assert (finding.repair, finding.repaired_at, finding.resolved_at) == (
        DriftRepair.REPUSH,
        START,
        None,
    )
    assert await pending_pushes(runtime) == [outbox.BILLING_SYNC]
    assert await rows(runtime, AdminTask) == []
    (audited,) = await rows(runtime, AuditEvent)
    assert (audited.action, audited.before, audited.after) == (
        "subscription.drift_detected",
        {"sync_status": "SYNCED"},
        {"sync_status": "DRIFTED", "differs": ["BILLING.seats"]},
    )

    assert await check(runtime) == 0  # the recheck waits for the push
    await run_outbox(runtime)  # the re-push amends the provider back to 10 seats
    assert calls["amend_subscription"] == 1
    remote = (await runtime.providers.billing.get_subscriptions([row.provider_ref]))[
        row.provider_ref
    ]
    assert remote.items[0].quantity == 10
    clock.advance(timedelta(minutes=1))
    assert await check(runtime) == 1  # rechecked at once, not after the interval

    assert (await fresh(runtime, Subscription, sub.id)).sync_status is SyncStatus.SYNCED
    (finding,) = await rows(runtime, DriftFinding)
    assert finding.resolved_at == START + timedelta(minutes=1)
    assert await pending_pushes(runtime) == []


async def test_a_plan_changed_in_the_crm_is_found_and_pushed_back(
    db: AsyncSession, sub: Subscription, runtime: Runtime, clock: FixedClock, calls: Counter[str]
) -> None:
    await db.execute(sa.update(CrmSubscriptionRecord).values(plan="ultimate"))
    await db.commit()

    await check(runtime)

    assert (await fresh(runtime, Subscription, sub.id)).sync_status is SyncStatus.DRIFTED
    (finding,) = await rows(runtime, DriftFinding)
    assert (finding.system, finding.field, finding.local_value, finding.remote_value) == (
        DriftSystem.CRM,
        "plan",
        "premium",
        "ultimate",
    )
    assert finding.repair is DriftRepair.REPUSH
    assert await pending_pushes(runtime) == [outbox.CRM_SYNC]

    await run_outbox(runtime)
    (mirror,) = await rows(runtime, CrmSubscriptionRecord)
    assert (mirror.ref, mirror.plan, mirror.seats) == (sub.number, "premium", 10)
    clock.advance(INTERVAL)
    await check(runtime)

    row = await fresh(runtime, Subscription, sub.id)
    assert row.sync_status is SyncStatus.SYNCED
    assert (await fresh(runtime, DriftFinding, finding.id)).resolved_at == START + INTERVAL
    actions = [event.action for event in await rows(runtime, AuditEvent)]
    assert actions == ["subscription.drift_detected", "subscription.drift_cleared"]
    assert calls["amend_subscription"] == 0


async def test_an_invoice_total_changed_at_the_provider_raises_one_task_and_moves_no_money(
    db: AsyncSession, sub: Subscription, runtime: Runtime, clock: FixedClock, calls: Counter[str]
) -> None:
    await db.execute(sa.update(LedgerInvoice).values(total=350_000))
    await db.commit()
    local_before = (await rows(runtime, Invoice))[0]

    await check(runtime)
    clock.advance(INTERVAL)
    await check(runtime)  # the same difference again: nothing new

    assert (await fresh(runtime, Subscription, sub.id)).sync_status is SyncStatus.DRIFTED
    (finding,) = await rows(runtime, DriftFinding)
    assert (finding.field, finding.local_value, finding.remote_value, finding.repair) == (
        f"invoice.total:{local_before.number}",
        "348000",
        "350000",
        DriftRepair.ADMIN_TASK,
    )
    assert (finding.repaired_at, finding.resolved_at) == (None, None)
    (task,) = await rows(runtime, AdminTask)
    assert (task.subscription_id, task.finding_id, task.status) == (
        sub.id,
        finding.id,
        AdminTaskStatus.OPEN,
    )
    assert "348000" in task.detail and "350000" in task.detail
    # No money moved: the local invoice, the provider's, and no billing write, no push queued.
    local = (await rows(runtime, Invoice))[0]
    assert (local.total, local.amount_paid, local.status) == (348_000, 0, local_before.status)
    remote = (await rows(runtime, LedgerInvoice))[0]
    assert (remote.total, remote.balance, remote.status) == (350_000, 348_000, "OPEN")
    assert set(calls) <= READS
    assert await pending_pushes(runtime) == []


async def test_200_subscriptions_cost_three_provider_calls_per_batch(
    db: AsyncSession, runtime: Runtime, calls: Counter[str], crm_calls: Counter[str]
) -> None:
    customer = await f.customer(db, crm_ref="crm-many")
    account = await f.billing_account(db, customer)
    for n in range(200):
        sub = await f.subscription(db, customer, account=account, provider_ref=f"sub_gone{n}")
        if n % 10 == 0:  # some issued invoices in every batch
            await f.invoice(db, sub, provider_ref=f"inv_gone{n}")
    await db.commit()

    batches = 0
    while await check(runtime):
        batches += 1

    assert batches == 4  # 50 a batch
    assert calls == {"get_subscriptions": batches, "get_invoices": batches}
    assert crm_calls == {"get_subscriptions": batches}
    checked = await rows(runtime, DriftCheck)
    assert len(checked) == 200
    # Each is missing in both systems (20 invoices too): found, and both pushes queued.
    assert len(await rows(runtime, DriftFinding)) == 200 * 2 + 20
    pushes = {outbox.BILLING_SYNC: 200, outbox.CRM_SYNC: 200}
    assert Counter(await pending_pushes(runtime)) == pushes
    assert len(await rows(runtime, AdminTask)) == 20  # the missing invoices: money
    drifted = await rows(runtime, Subscription, col(Subscription.sync_status) == SyncStatus.DRIFTED)
    assert len(drifted) == 200


async def test_a_resync_is_checked_as_soon_as_its_pushes_are_done(
    db: AsyncSession, sub: Subscription, runtime: Runtime
) -> None:
    assert await check(runtime) == 1
    await db.execute(sa.update(CrmSubscriptionRecord).values(seats=99))
    await db.commit()
    staff = Principal(kind=PrincipalKind.ADMIN, id="tok_1", name="Staff")

    async with runtime.sessions() as session, session.begin():
        await admin.resync(session, staff, sub.id or 0, "seats look wrong", now=START)
    assert await check(runtime) == 0  # its pushes are still to do
    await run_outbox(runtime)

    assert await check(runtime) == 1  # due at once, not after the interval
    assert await rows(runtime, DriftFinding) == []  # the push had already repaired the CRM
    (mirror,) = await rows(runtime, CrmSubscriptionRecord)
    assert mirror.seats == 10
    assert (await fresh(runtime, Subscription, sub.id)).sync_status is SyncStatus.SYNCED


async def test_a_difference_its_push_cannot_repair_waits_for_the_interval(
    db: AsyncSession, sub: Subscription, runtime: Runtime, clock: FixedClock
) -> None:
    await db.execute(sa.update(CrmSubscriptionRecord).values(seats=3))
    await db.execute(sa.delete(CrmAccountRecord))  # the CRM refuses the push (no account)
    await db.commit()

    assert await check(runtime) == 1
    await run_outbox(runtime)
    clock.advance(timedelta(minutes=1))
    assert await check(runtime) == 1  # the recheck after its push: still there
    await run_outbox(runtime)

    assert await check(runtime) == 0  # no loop: the interval decides the next check
    (finding,) = await rows(runtime, DriftFinding)
    assert (finding.field, finding.remote_value, finding.resolved_at) == ("seats", "3", None)
    assert (await fresh(runtime, Subscription, sub.id)).sync_status is SyncStatus.DRIFTED
    failed = await rows(runtime, OutboxMessage, col(OutboxMessage.status) == OutboxStatus.FAILED)
    assert [message.topic for message in failed] == [outbox.CRM_SYNC] * 2


async def test_an_invoice_paid_between_the_reads_is_not_taken_for_drift(
    sub: Subscription, runtime: Runtime
) -> None:
    real = runtime.providers.billing

    class PaidMeanwhile:
        """The invoice is paid (there, then here) after the job read the local copy."""

        def __getattr__(self, name: str) -> Any:
            return getattr(real, name)

        async def get_invoices(self, refs: Any) -> Any:
            async with runtime.sessions() as session, session.begin():
                await session.execute(sa.update(LedgerInvoice).values(balance=0, status="PAID"))
                paid = {"amount_paid": 348_000, "status": InvoiceStatus.PAID}
                await session.execute(sa.update(Invoice).values(**paid))
            return await real.get_invoices(refs)

    runtime.providers = replace(runtime.providers, billing=PaidMeanwhile())  # type: ignore[arg-type]

    assert await check(runtime) == 1
    assert await rows(runtime, DriftFinding) == []
    assert await rows(runtime, AdminTask) == []
    assert (await fresh(runtime, Subscription, sub.id)).sync_status is SyncStatus.SYNCED
