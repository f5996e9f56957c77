"""Two workers against one database of their own (real, separately committed transactions;
PostgreSQL: separate connections claiming FOR UPDATE SKIP LOCKED; SQLite: serialised
writers) with 200 subscriptions due to renew: each is renewed exactly once (one invoice and
one payment at the billing provider), each deployment is provisioned exactly once, and both
workers took part."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlmodel import col

from app.clock import FixedClock
from app.config import Settings
from app.db.engine import create_session_factory
from app.db.tables import (
    LedgerInvoice,
    LedgerPayment,
    Notification,
    OrderLease,
    Reconciliation,
    Renewal,
    Subscription,
)
from app.domain.enums import ReconciliationMode
from app.providers.provisioning import Entitlement, ProvisioningResult
from app.providers.registry import build_providers
from app.runtime import Runtime, build_runtime
from app.services import outbox
from app.services.lifecycle.jobs import LIFECYCLE_JOBS
from app.services.worker.handlers import HANDLERS
from app.services.worker.options import WorkerOptions
from app.services.worker.outbox import OutboxJob
from app.services.worker.runner import Worker
from tests.support import factories as f
from tests.support.fresh_database import fresh_database

RENEWAL_DAY = datetime(2027, 1, 1, 6, tzinfo=UTC)
SUBSCRIPTIONS = 200


class RecordingTarget:
    def __init__(self) -> None:
        self.pushes: Counter[str] = Counter()

    async def push(self, entitlement: Entitlement, *, idempotency_key: str) -> ProvisioningResult:
        self.pushes[entitlement.deployment_ref] += 1
        return ProvisioningResult(
            deployment_ref=entitlement.deployment_ref,
            applied=True,
            pushes=self.pushes[entitlement.deployment_ref],
        )

    async def get(self, deployment_refs: Sequence[str]) -> Mapping[str, Entitlement]:
        return {}


@pytest.fixture
async def engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    async with fresh_database(settings) as engine:
        yield engine


async def populate(engine: AsyncEngine, count: int, **overrides: Any) -> None:
    sessions = create_session_factory(engine)
    async with sessions() as db, db.begin():
        customer = await f.customer(db)
        await f.user(db, customer)
        account = await f.billing_account(db, customer)
        for _ in range(count):
            sub = await f.subscription(db, customer, account=account, **overrides)
            await f.seat_report(db, sub, date(2026, 3, 1), sub.seats + 2)


def worker(
    settings: Settings,
    engine: AsyncEngine,
    target: RecordingTarget,
    n: int,
    now: datetime = RENEWAL_DAY,
) -> Worker:
    sessions = create_session_factory(engine)  # each worker: its own connections
    clock = FixedClock(now)
    providers = build_providers(settings, sessions, clock)
    providers.provisioning = target
    runtime: Runtime = build_runtime(settings, sessions=sessions, clock=clock, providers=providers)
    options = WorkerOptions(batch_size=20, jitter=0, worker_id=f"worker-{n}")
    # Every lifecycle job, and the outbox for provisioning only (billing syncs stay queued:
    # they are the outbox's own concern, tested in test_worker_concurrency).
    jobs = [factory(options) for factory in LIFECYCLE_JOBS]
    provisioning_only = {outbox.PROVISION: HANDLERS[outbox.PROVISION]}
    return Worker(runtime, options, [*jobs, OutboxJob(options, provisioning_only)])


async def test_two_workers_renew_each_subscription_once(
    settings: Settings, engine: AsyncEngine
) -> None:
    await populate(
        engine,
        SUBSCRIPTIONS,
        reconciliation_mode=ReconciliationMode.ANNUAL_TRUE_UP,
        seats_in_use=12,
    )
    target = RecordingTarget()
    workers = [worker(settings, engine, target, n) for n in (1, 2)]

    totals = await asyncio.gather(*(w.run_once() for w in workers))

    assert [w.errors for w in workers] == [0, 0]

    renewed = [total["renewals"] for total in totals]
    assert sum(renewed) == SUBSCRIPTIONS and min(renewed) > 0, renewed
    sessions: async_sessionmaker[AsyncSession] = create_session_factory(engine)
    async with sessions() as db:
        terms = (await db.execute(sa.select(Subscription.term_start, Subscription.seats))).all()
        renewals = (await db.execute(sa.select(Renewal.subscription_id, Renewal.status))).all()
        invoices = (await db.scalars(sa.select(col(LedgerInvoice.total)))).all()
        payments = (await db.scalars(sa.select(col(LedgerPayment.status)))).all()
        leases = (await db.scalars(sa.select(OrderLease))).all()
    assert Counter(terms) == {(date(2027, 1, 1), 12): SUBSCRIPTIONS}
    assert len({sid for sid, _ in renewals}) == len(renewals) == SUBSCRIPTIONS
    assert {status for _, status in renewals} == {"PAID"}
    assert invoices == [12 * 34_800] * SUBSCRIPTIONS
    assert payments == ["SUCCEEDED"] * SUBSCRIPTIONS
    assert len(target.pushes) == SUBSCRIPTIONS and set(target.pushes.values()) == {1}
    assert leases == []


async def test_two_workers_reconcile_each_quarter_once(
    settings: Settings, engine: AsyncEngine
) -> None:
    """50 quarterly subscriptions 2 seats over in quarter 1, both workers from the invoice
    day on: each quarter scheduled, noticed and invoiced once, one reminder-free charge each."""
    await populate(engine, 50)
    target = RecordingTarget()
    invoice_day = datetime(2026, 4, 8, 6, tzinfo=UTC)
    workers = [worker(settings, engine, target, n, invoice_day) for n in (1, 2)]

    await asyncio.gather(*(w.run_once() for w in workers))

    assert [w.errors for w in workers] == [0, 0]

    sessions: async_sessionmaker[AsyncSession] = create_session_factory(engine)
    async with sessions() as db:
        rows = (await db.execute(sa.select(Reconciliation.quarter, Reconciliation.status))).all()
        invoices = (await db.scalars(sa.select(col(LedgerInvoice.total)))).all()
        seats = (await db.scalars(sa.select(col(Subscription.seats)))).all()
        notified = (await db.scalars(sa.select(col(Notification.kind)))).all()
    assert Counter(rows) == {(1, "PAID"): 50, (2, "SCHEDULED"): 50, (3, "SCHEDULED"): 50}
    assert invoices == [2 * 34_800 * 3 // 4] * 50
    assert set(seats) == {12}
    assert Counter(notified) == {"RECONCILIATION_NOTICE": 50, "RECONCILIATION_INVOICE": 50}
    assert len(target.pushes) == 50 and set(target.pushes.values()) == {1}
