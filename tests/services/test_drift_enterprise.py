"""The drift job against the enterprise pair, Zuora billing and the Salesforce CRM, over
real HTTP to their fakes: a seat count changed in Zuora and a plan changed in Salesforce
behind the app's back are found as DRIFTED with both values, pushed back (the local copy
owns entitlement) and cleared by the next check; an invoice amount changed in Zuora raises
one admin task and moves no money on either side."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from app.clock import FixedClock
from app.config import Settings
from app.db.tables import AdminTask, DriftFinding, Invoice, Subscription
from app.domain.enums import AdminTaskStatus, DriftSystem, InvoiceStatus, SyncStatus
from app.providers.billing import InvoiceLineRecord, NewInvoice
from app.providers.crm.salesforce import SalesforceCrmProvider
from app.providers.registry import build_providers
from app.runtime import Runtime, build_runtime
from app.services import subscription_sync
from app.services.drift.job import DriftJob
from app.services.worker.options import WorkerOptions
from app.services.worker.outbox import OutboxJob
from tests.fakes.salesforce import SalesforceFake, running_fake, settings_for
from tests.fakes.zuora import ZuoraFake
from tests.providers.factories import crm_account
from tests.support import factories as f

START = datetime(2026, 6, 1, 12, tzinfo=UTC)
OPTIONS = WorkerOptions(jitter=0, worker_id="worker-a")


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
def billing() -> str:
    return "zuora"


@pytest.fixture(scope="module")
async def salesforce() -> AsyncIterator[SalesforceFake]:
    async with running_fake() as fake:
        yield fake


@pytest.fixture
async def runtime(
    app_settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    clock: FixedClock,
    salesforce: SalesforceFake,
) -> AsyncIterator[Runtime]:
    salesforce.reset()
    chosen = app_settings.model_copy(update={"drift_check_interval_seconds": 6 * 3600})
    providers = build_providers(chosen, session_factory, clock)
    providers.crm = SalesforceCrmProvider(settings_for(salesforce))
    yield build_runtime(chosen, sessions=session_factory, clock=clock, providers=providers)
    await providers.aclose()


async def run_outbox(runtime: Runtime) -> None:
    while await OutboxJob(OPTIONS).run(runtime, runtime.clock.now()):
        pass


async def check(runtime: Runtime) -> int:
    return await DriftJob(OPTIONS).run(runtime, runtime.clock.now())


async def fresh(runtime: Runtime, table: Any, pk: Any) -> Any:
    async with runtime.sessions() as session:
        return await session.get(table, pk, populate_existing=True)


async def rows(runtime: Runtime, table: Any) -> list[Any]:
    async with runtime.sessions() as session:
        return list((await session.scalars(sa.select(table).order_by(col(table.id)))).all())


@pytest.fixture
async def sub(db: AsyncSession, runtime: Runtime) -> Subscription:
    """Premium x10, its customer's account in Salesforce, synced to Zuora and mirrored in
    Salesforce, with an invoice issued in Zuora whose local copy agrees; checked once."""
    customer = await f.customer(db, crm_ref="crm-acme")
    await runtime.providers.crm.upsert_account(crm_account("crm-acme"))
    found = await f.subscription(db, customer, seats=10)
    await subscription_sync.queue(db, {"subscription_id": found.id}, "setup", now=START)
    await db.commit()
    await run_outbox(runtime)
    await db.refresh(found)
    ref = found.provider_ref or ""
    remote = (await runtime.providers.billing.get_subscriptions([ref]))[ref]
    issued = await runtime.providers.billing.create_invoice(
        NewInvoice(
            account_ref=remote.account_ref,
            subscription_ref=ref,
            currency="USD",
            lines=(InvoiceLineRecord("Premium", 10, 34_800, 348_000),),
            due_on=date(2026, 7, 1),
        ),
        idempotency_key="setup-invoice",
    )
    await f.invoice(db, found, (348_000,), provider_ref=issued.ref, sync_status=SyncStatus.SYNCED)
    await db.commit()
    assert await check(runtime) == 1
    assert (await fresh(runtime, Subscription, found.id)).sync_status is SyncStatus.SYNCED
    return found


def _charge(zuora: ZuoraFake, ref: str) -> dict[str, Any]:
    """The premium seats' charge of the subscription in Zuora."""
    plans = zuora.store.subscriptions[ref]["ratePlans"]
    (plan,) = [p for p in plans if p["productSku"] == "premium" and p["lastChangeType"] != "Remove"]
    (charge,) = plan["ratePlanCharges"]
    return charge  # type: ignore[no-any-return]


async def test_seats_changed_in_zuora_and_a_plan_changed_in_salesforce_are_found_and_repaired(
    sub: Subscription,
    runtime: Runtime,
    clock: FixedClock,
    zuora_fake: ZuoraFake,
    salesforce: SalesforceFake,
) -> None:
    ref = sub.provider_ref or ""
    _charge(zuora_fake, ref)["quantity"] = 12  # someone edits the subscription in Zuora
    (mirror,) = salesforce.records("Subscription__c")
    mirror["Plan__c"] = "ultimate"  # and someone else the mirror in Salesforce
    clock.advance(timedelta(hours=7))

    assert await check(runtime) == 1

    assert (await fresh(runtime, Subscription, sub.id)).sync_status is SyncStatus.DRIFTED
    found = {
        (d.system, d.field, d.local_value, d.remote_value)
        for d in await rows(runtime, DriftFinding)
    }
    assert found == {
        (DriftSystem.BILLING, "seats", "10", "12"),
        (DriftSystem.CRM, "plan", "premium", "ultimate"),
    }
    await run_outbox(runtime)  # the pushes: the local copy wins for entitlement
    assert _charge(zuora_fake, ref)["quantity"] == 10
    assert salesforce.records("Subscription__c")[0]["Plan__c"] == "premium"
    clock.advance(timedelta(minutes=1))
    assert await check(runtime) == 1  # rechecked once its pushes are done

    assert (await fresh(runtime, Subscription, sub.id)).sync_status is SyncStatus.SYNCED
    assert all(d.resolved_at is not None for d in await rows(runtime, DriftFinding))
    assert await rows(runtime, AdminTask) == []


async def test_an_invoice_amount_changed_in_zuora_raises_one_task_and_moves_no_money(
    sub: Subscription, runtime: Runtime, clock: FixedClock, zuora_fake: ZuoraFake
) -> None:
    (local,) = await rows(runtime, Invoice)
    remote = zuora_fake.store.invoices[local.provider_ref]
    remote["amount"] = remote["balance"] = 3500.0
    payments = zuora_fake.count("payment")
    clock.advance(timedelta(hours=7))

    assert await check(runtime) == 1
    clock.advance(timedelta(hours=7))
    await check(runtime)  # a second look raises nothing new

    tasks = await rows(runtime, AdminTask)  # one per money field that differs
    number = local.number
    assert [(t.status, t.detail) for t in tasks] == [
        (
            AdminTaskStatus.OPEN,
            f"BILLING invoice.{field}:{number}: local 348000, provider 350000. "
            "Money is never changed automatically.",
        )
        for field in ("total", "balance")
    ]
    assert (await fresh(runtime, Subscription, sub.id)).sync_status is SyncStatus.DRIFTED
    after = await fresh(runtime, Invoice, local.id)
    assert (after.total, after.amount_paid, after.status) == (348_000, 0, InvoiceStatus.OPEN)
    assert (remote["amount"], remote["balance"]) == (3500.0, 3500.0)
    assert zuora_fake.count("payment") == payments
