"""Workers side by side on a database of their own (real, separately committed transactions;
on PostgreSQL separate connections claiming FOR UPDATE SKIP LOCKED; on SQLite claims
serialised by the write lock):
- two workers drain 200 due provisioning messages for 200 subscriptions: each message is
  carried out once, each deployment receives exactly one push, and both workers took part;
- six claimers racing for the same messages claim disjoint sets that cover them all."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlmodel import col

from app.clock import FixedClock
from app.config import Settings
from app.db.engine import create_session_factory
from app.db.tables import OutboxMessage, Subscription
from app.providers.provisioning import Entitlement, ProvisioningResult
from app.providers.registry import build_providers
from app.runtime import Runtime, build_runtime
from app.services import outbox
from app.services.worker.options import WorkerOptions
from app.services.worker.outbox import OutboxJob
from app.services.worker.runner import Worker
from tests.support import factories as f
from tests.support.fresh_database import fresh_database

START = datetime(2026, 6, 1, 12, tzinfo=UTC)
SUBSCRIPTIONS = 200


class RecordingTarget:
    """Counts pushes per deployment; each push takes a moment, as a network call would."""

    def __init__(self) -> None:
        self.pushes: Counter[str] = Counter()
        self.keys: Counter[str] = Counter()
        self.in_flight: set[str] = set()
        self.overlaps = 0

    async def push(self, entitlement: Entitlement, *, idempotency_key: str) -> ProvisioningResult:
        ref = entitlement.deployment_ref
        if ref in self.in_flight:
            self.overlaps += 1
        self.in_flight.add(ref)
        await asyncio.sleep(0.001)
        self.in_flight.discard(ref)
        self.pushes[ref] += 1
        self.keys[idempotency_key] += 1
        return ProvisioningResult(deployment_ref=ref, applied=True, pushes=self.pushes[ref])

    async def get(self, deployment_refs: Sequence[str]) -> Mapping[str, Entitlement]:
        return {}


@pytest.fixture(scope="module")
async def engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    async with fresh_database(settings) as engine:
        yield engine


@pytest.fixture
async def sessions(engine: AsyncEngine) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """The fresh database with 200 subscriptions, each with a due provisioning message;
    emptied of messages afterwards (the module shares the database)."""
    sessions = create_session_factory(engine)
    async with sessions() as db, db.begin():
        customer = await f.customer(db)
        account = await f.billing_account(db, customer)
        for n in range(SUBSCRIPTIONS):
            sub = await f.subscription(db, customer, account=account)
            payload = {"subscription_id": sub.id, "order_id": n}
            await outbox.enqueue(db, outbox.PROVISION, payload, f"conc:{sub.id}", now=START)
    yield sessions
    async with sessions() as db, db.begin():
        await db.execute(sa.delete(OutboxMessage))


def runtime_for(
    settings: Settings, sessions: async_sessionmaker[AsyncSession], target: RecordingTarget
) -> Runtime:
    clock = FixedClock(START)
    providers = build_providers(settings, sessions, clock)
    providers.provisioning = target
    return build_runtime(settings, sessions=sessions, clock=clock, providers=providers)


async def test_two_workers_carry_out_each_message_once(
    settings: Settings, engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    target = RecordingTarget()
    workers = [
        # Each worker has its own session factory: its own connections to the database.
        Worker(
            runtime_for(settings, create_session_factory(engine), target),
            WorkerOptions(batch_size=10, worker_id=f"worker-{n}"),
        )
        for n in (1, 2)
    ]

    totals = await asyncio.gather(*(worker.run_once() for worker in workers))

    handled = [total["outbox"] for total in totals]
    assert sum(handled) == SUBSCRIPTIONS and min(handled) > 0, handled
    assert len(target.pushes) == SUBSCRIPTIONS
    assert set(target.pushes.values()) == {1}
    assert set(target.keys.values()) == {1} and target.overlaps == 0
    async with sessions() as db:
        messages = (await db.execute(sa.select(OutboxMessage.status, OutboxMessage.attempts))).all()
        statuses = (await db.scalars(sa.select(col(Subscription.provisioning_status)))).all()
    assert Counter(messages) == {("DONE", 0): SUBSCRIPTIONS}
    assert set(statuses) == {"PROVISIONED"}


async def test_racing_claimers_never_share_a_message(
    settings: Settings, engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    target = RecordingTarget()
    claimers = [
        (
            runtime_for(settings, create_session_factory(engine), target),
            OutboxJob(WorkerOptions(batch_size=25, worker_id=f"claimer-{n}")),
        )
        for n in range(6)
    ]

    async def claim_all(runtime: Runtime, job: OutboxJob) -> list[int]:
        mine: list[int] = []
        while claimed := await job.claim(runtime, START):
            mine += [message.id for message in claimed]
        return mine

    claimed = await asyncio.gather(*(claim_all(runtime, job) for runtime, job in claimers))

    every = [message for mine in claimed for message in mine]
    assert len(every) == len(set(every)) == SUBSCRIPTIONS
    async with sessions() as db:
        holders = (await db.scalars(sa.select(col(OutboxMessage.locked_by)))).all()
    assert Counter(holders) == {f"claimer-{n}": len(mine) for n, mine in enumerate(claimed) if mine}
