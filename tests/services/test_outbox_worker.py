"""The outbox worker inside the test's transaction (one connection, a FixedClock): retries
with backoff until the push lands exactly once, permanent failures, giving up, leases, the
claim rules, the backoff schedule and the runner."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from app.clock import FixedClock
from app.config import Settings
from app.db.repositories import outbox as repo
from app.db.tables import OutboxMessage, ProvisionedEntitlement, Subscription
from app.db.unit_of_work import unit_of_work
from app.domain.enums import OutboxStatus, ProvisioningStatus
from app.providers.errors import ProviderRejected, ProviderUnavailable
from app.providers.provisioning import Entitlement, ProvisioningResult, ProvisioningTarget
from app.providers.registry import build_providers
from app.runtime import Runtime, build_runtime
from app.services import outbox
from app.services.worker.backoff import retry_delay
from app.services.worker.jobs import JOBS, build_jobs
from app.services.worker.options import WorkerOptions
from app.services.worker.outbox import OutboxJob
from app.services.worker.runner import Worker
from tests.support import factories as f

START = datetime(2026, 6, 1, 12, tzinfo=UTC)
OPTIONS = WorkerOptions(jitter=0, worker_id="worker-a")


class FlakyTarget:
    """Fails `failures` times with `error`, then hands the push to the real target."""

    def __init__(self, inner: ProvisioningTarget, failures: int, error: Exception) -> None:
        self.inner, self.failures, self.error = inner, failures, error
        self.calls: list[tuple[Entitlement, str]] = []

    async def push(self, entitlement: Entitlement, *, idempotency_key: str) -> ProvisioningResult:
        self.calls.append((entitlement, idempotency_key))
        if self.failures > 0:
            self.failures -= 1
            raise self.error
        return await self.inner.push(entitlement, idempotency_key=idempotency_key)

    async def get(self, deployment_refs: Sequence[str]) -> Mapping[str, Entitlement]:
        return await self.inner.get(deployment_refs)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
def runtime(
    settings: Settings, session_factory: async_sessionmaker[AsyncSession], clock: FixedClock
) -> Runtime:
    providers = build_providers(settings, session_factory, clock)
    return build_runtime(settings, sessions=session_factory, clock=clock, providers=providers)


def flaky(runtime: Runtime, failures: int, error: Exception | None = None) -> FlakyTarget:
    target = FlakyTarget(
        runtime.providers.provisioning, failures, error or ProviderUnavailable("test", "down")
    )
    runtime.providers.provisioning = target
    return target


async def provision_message(
    db: AsyncSession, sub: Subscription, key: str | None = None, **overrides: Any
) -> OutboxMessage:
    key = key or f"provision:{sub.id}"
    payload = {"subscription_id": sub.id, "order_id": 1}
    await outbox.enqueue(db, outbox.PROVISION, payload, key, now=START)
    await db.flush()
    message = (
        await db.scalars(sa.select(OutboxMessage).where(OutboxMessage.idempotency_key == key))
    ).one()
    for name, value in overrides.items():
        setattr(message, name, value)
    await db.flush()
    return message


async def subscription_on(db: AsyncSession, **overrides: Any) -> Subscription:
    customer = await f.customer(db)
    return await f.subscription(db, customer, **overrides)


async def read(runtime: Runtime, table: Any, pk: int) -> Any:
    async with runtime.sessions() as session:
        return await session.get(table, pk, populate_existing=True)


async def test_three_outages_then_one_push_arrives_exactly_once(
    db: AsyncSession, runtime: Runtime, clock: FixedClock
) -> None:
    sub = await subscription_on(db, seats=12)
    message = await provision_message(db, sub)
    target = flaky(runtime, failures=3)
    job = OutboxJob(OPTIONS)

    for attempt, delay in enumerate((5, 10, 20), start=1):
        assert await job.run(runtime, clock.now()) == 1
        row = await read(runtime, OutboxMessage, message.id)
        assert (row.status, row.attempts) == (OutboxStatus.PENDING, attempt)
        assert row.last_error == "test: down"
        assert row.last_attempt_at == clock.now()
        assert row.available_at == clock.now() + timedelta(seconds=delay)
        assert (row.locked_by, row.locked_until) == (None, None)
        assert (await read(runtime, Subscription, sub.id)).provisioning_status == "RETRYING"
        # Not due again before its backoff has passed.
        clock.advance(timedelta(seconds=delay - 1))
        assert await job.run(runtime, clock.now()) == 0
        clock.advance(timedelta(seconds=1))

    assert await job.run(runtime, clock.now()) == 1

    row = await read(runtime, OutboxMessage, message.id)
    assert (row.status, row.attempts, row.processed_at) == ("DONE", 3, clock.now())
    assert (await read(runtime, Subscription, sub.id)).provisioning_status == "PROVISIONED"
    assert len(target.calls) == 4
    assert {key for _, key in target.calls} == {message.idempotency_key}
    async with runtime.sessions() as session:
        recorded = (await session.scalars(sa.select(ProvisionedEntitlement))).all()
    assert [(r.deployment_ref, r.pushes) for r in recorded] == [
        (target.calls[-1][0].deployment_ref, 1)
    ]
    assert recorded[0].entitlement["seats"] == 12
    assert await job.run(runtime, clock.now()) == 0  # DONE is never claimed again


async def test_a_rejection_fails_at_once_and_shows(
    db: AsyncSession, runtime: Runtime, clock: FixedClock
) -> None:
    sub = await subscription_on(db)
    message = await provision_message(db, sub)
    target = flaky(runtime, failures=1, error=ProviderRejected("test", "invalid_request", "no"))

    assert await OutboxJob(OPTIONS).run(runtime, clock.now()) == 1

    row = await read(runtime, OutboxMessage, message.id)
    assert (row.status, row.attempts, row.last_error) == ("FAILED", 1, "test: no")
    assert row.processed_at == clock.now()
    assert (await read(runtime, Subscription, sub.id)).provisioning_status == "FAILED"
    clock.advance(timedelta(days=1))
    assert await OutboxJob(OPTIONS).run(runtime, clock.now()) == 0
    assert len(target.calls) == 1


async def test_it_gives_up_after_max_attempts(
    db: AsyncSession, runtime: Runtime, clock: FixedClock
) -> None:
    sub = await subscription_on(db)
    message = await provision_message(db, sub)
    flaky(runtime, failures=100)
    job = OutboxJob(WorkerOptions(jitter=0, max_attempts=4))

    for _ in range(10):
        await job.run(runtime, clock.now())
        clock.advance(timedelta(hours=1))

    row = await read(runtime, OutboxMessage, message.id)
    assert (row.status, row.attempts) == ("FAILED", 4)
    assert (await read(runtime, Subscription, sub.id)).provisioning_status == "FAILED"


async def test_an_unexpected_error_is_retried_without_leaking_details(
    db: AsyncSession, runtime: Runtime, clock: FixedClock
) -> None:
    sub = await subscription_on(db)
    message = await provision_message(db, sub)
    flaky(runtime, failures=1, error=RuntimeError("password=hunter2"))

    await OutboxJob(OPTIONS).run(runtime, clock.now())

    row = await read(runtime, OutboxMessage, message.id)
    assert (row.status, row.attempts) == ("PENDING", 1)
    assert row.last_error == "internal error (RuntimeError)"


async def test_a_message_for_a_missing_subscription_fails_for_good(
    db: AsyncSession, runtime: Runtime, clock: FixedClock
) -> None:
    await outbox.enqueue(db, outbox.PROVISION, {"subscription_id": 999_999}, "lost", now=START)
    await db.flush()

    assert await OutboxJob(OPTIONS).run(runtime, clock.now()) == 1

    async with runtime.sessions() as session:
        row = (await session.scalars(sa.select(OutboxMessage))).one()
    assert (row.status, row.last_error) == ("FAILED", "subscription 999999 does not exist")


async def test_a_lease_keeps_others_out_until_it_expires(
    db: AsyncSession, runtime: Runtime, clock: FixedClock
) -> None:
    sub = await subscription_on(db)
    message = await provision_message(db, sub)
    target = flaky(runtime, failures=0)
    dead = OutboxJob(WorkerOptions(worker_id="dead"))
    alive = OutboxJob(WorkerOptions(worker_id="alive"))

    claimed = await dead.claim(runtime, clock.now())  # ... and the worker dies here
    assert [m.id for m in claimed] == [message.id]
    row = await read(runtime, OutboxMessage, message.id)
    assert (row.locked_by, row.locked_until) == ("dead", clock.now() + timedelta(minutes=5))

    assert await alive.run(runtime, clock.now()) == 0
    clock.advance(timedelta(minutes=5))
    assert await alive.run(runtime, clock.now()) == 1

    assert (await read(runtime, OutboxMessage, message.id)).status == "DONE"
    assert len(target.calls) == 1
    # The dead worker coming back cannot record anything: the claim is no longer its own.
    await dead.process(runtime, claimed[0])
    assert len(target.calls) == 1


async def test_one_message_in_flight_per_subscription_and_topic(
    db: AsyncSession, runtime: Runtime, clock: FixedClock
) -> None:
    sub, other = await subscription_on(db), await subscription_on(db)
    first = await provision_message(db, sub, "a")
    second = await provision_message(db, sub, "b")
    third = await provision_message(db, other, "c")
    billing = "d"
    await outbox.enqueue(db, outbox.BILLING_SYNC, {"subscription_id": sub.id}, billing, now=START)
    await db.flush()

    one = await OutboxJob(WorkerOptions(worker_id="one")).claim(runtime, clock.now())
    two = await OutboxJob(WorkerOptions(worker_id="two")).claim(runtime, clock.now())

    assert sorted(m.idempotency_key for m in one) == ["a", "c", "d"]
    assert two == []  # "b" waits while "a" (same subscription and topic) is in flight
    assert {first.id, third.id} <= {m.id for m in one} and second.id not in {m.id for m in one}


async def test_unknown_topics_are_left_for_a_worker_that_knows_them(
    db: AsyncSession, runtime: Runtime, clock: FixedClock
) -> None:
    await outbox.enqueue(db, "crm.future_topic", {"x": 1}, "future", now=START)
    await db.flush()

    assert await OutboxJob(OPTIONS).run(runtime, clock.now()) == 0

    async with runtime.sessions() as session:
        row = (await session.scalars(sa.select(OutboxMessage))).one()
    assert (row.status, row.attempts, row.locked_by) == ("PENDING", 0, None)


async def test_messages_not_yet_due_wait(
    db: AsyncSession, runtime: Runtime, clock: FixedClock
) -> None:
    sub = await subscription_on(db)
    await provision_message(db, sub, available_at=clock.now() + timedelta(seconds=30))

    assert await OutboxJob(OPTIONS).run(runtime, clock.now()) == 0
    clock.advance(timedelta(seconds=30))
    assert await OutboxJob(OPTIONS).run(runtime, clock.now()) == 1


async def test_enqueue_records_the_subscription_and_latest_message(
    db: AsyncSession, runtime: Runtime
) -> None:
    sub = await subscription_on(db)
    older = await provision_message(db, sub, "old")
    newer = await provision_message(db, sub, "new")
    await outbox.enqueue(db, outbox.BILLING_SYNC, {"subscription_id": sub.id}, "bill", now=START)
    await db.flush()

    latest = await repo.latest_by_subscription(db, outbox.PROVISION, [sub.id or 0, 424242])

    assert older.subscription_id == sub.id
    assert {k: v.id for k, v in latest.items()} == {sub.id: newer.id}


def test_backoff_doubles_from_five_seconds_to_an_hour() -> None:
    options = WorkerOptions(jitter=0)
    delays = [retry_delay(n, "key", options).total_seconds() for n in range(1, 13)]
    assert delays == [5, 10, 20, 40, 80, 160, 320, 640, 1280, 2560, 3600, 3600]


def test_jitter_is_small_and_deterministic() -> None:
    options = WorkerOptions(jitter=0.1)
    first = [retry_delay(1, f"key-{n}", options).total_seconds() for n in range(50)]
    assert all(5 <= d <= 5.5 for d in first)
    assert len(set(first)) > 40  # spread out
    assert first == [retry_delay(1, f"key-{n}", options).total_seconds() for n in range(50)]
    assert retry_delay(30, "k", options) <= timedelta(hours=1, minutes=6)


def test_options_keep_the_handler_timeout_well_inside_the_lease() -> None:
    with pytest.raises(ValueError, match="lease"):
        WorkerOptions(lease=timedelta(seconds=90), handler_timeout=timedelta(seconds=60))
    assert len(WorkerOptions().worker_id) <= 64


def test_the_outbox_is_a_periodic_job() -> None:
    names = [job.name for job in build_jobs(OPTIONS)]
    # Stalled orders, the billing lifecycle jobs and the drift check run first, so the outbox
    # carries out what they queue.
    assert names == [
        "order-recovery",
        "lifecycle-notices",
        "reconciliation",
        "renewals",
        "expiry",
        "drift-check",
        "outbox",
    ]
    assert JOBS[-1] is OutboxJob


class CountingJob:
    name = "counting"

    def __init__(self, work: list[int]) -> None:
        self.work, self.nows = work, []  # items handled per round

    async def run(self, runtime: Runtime, now: datetime) -> int:
        self.nows.append(now)
        return self.work.pop(0) if self.work else 0


class BrokenJob:
    name = "broken"

    async def run(self, runtime: Runtime, now: datetime) -> int:
        raise RuntimeError("boom")


async def test_run_once_repeats_rounds_until_nothing_is_due(runtime: Runtime) -> None:
    counting = CountingJob([3, 2])
    worker = Worker(runtime, OPTIONS, jobs=[BrokenJob(), counting])

    totals = await worker.run_once()

    assert totals == {"broken": 0, "counting": 5}
    assert len(counting.nows) == 3 and worker.errors == 3


async def test_a_stopped_worker_finishes_the_round_and_returns(runtime: Runtime) -> None:
    class StoppingJob(CountingJob):
        async def run(self, runtime: Runtime, now: datetime) -> int:
            worker.stop()
            return await super().run(runtime, now)

    job = StoppingJob([1, 1, 1])
    worker = Worker(runtime, OPTIONS, jobs=[job])

    assert await worker.run_once() == {"counting": 1}
    await worker.run_forever(interval=60)  # returns at once: already stopping
    assert len(job.nows) == 1


async def test_run_forever_sleeps_between_idle_rounds_and_stops(runtime: Runtime) -> None:
    job = CountingJob([2])
    worker = Worker(runtime, OPTIONS, jobs=[job])

    async def stop_soon() -> None:
        while len(job.nows) < 3:  # noqa: ASYNC110 (polling a plain list)
            await asyncio.sleep(0.01)
        worker.stop()

    await asyncio.gather(worker.run_forever(interval=0.01), stop_soon())
    assert len(job.nows) >= 3


async def test_claim_and_finish_leave_other_rows_alone(
    db: AsyncSession, runtime: Runtime, clock: FixedClock
) -> None:
    sub = await subscription_on(db)
    await provision_message(db, sub)
    flaky(runtime, failures=0)
    before = await read(runtime, Subscription, sub.id)

    await OutboxJob(OPTIONS).run(runtime, clock.now())

    after = await read(runtime, Subscription, sub.id)
    assert after.provisioning_status is ProvisioningStatus.PROVISIONED
    assert (after.seats, after.lock_version, after.sync_status) == (
        before.seats,
        before.lock_version,
        before.sync_status,
    )
    async with unit_of_work(runtime.sessions, write=False) as session:
        statuses = (await session.scalars(sa.select(col(OutboxMessage.status)))).all()
    assert statuses == [OutboxStatus.DONE]


async def test_queueing_marks_pending_and_a_newer_message_decides_the_status(
    db: AsyncSession, runtime: Runtime, clock: FixedClock
) -> None:
    sub = await subscription_on(db, provisioning_status=ProvisioningStatus.PROVISIONED)
    first = await provision_message(db, sub, "first")
    assert sub.provisioning_status is ProvisioningStatus.PENDING
    target = flaky(runtime, failures=0)
    job = OutboxJob(OPTIONS)

    claimed = await job.claim(runtime, clock.now())
    await provision_message(db, sub, "second")  # queued while the first is in flight
    await job.process(runtime, claimed[0])

    assert (await read(runtime, OutboxMessage, first.id)).status == "DONE"
    assert (await read(runtime, Subscription, sub.id)).provisioning_status == "PENDING"
    assert await job.run(runtime, clock.now()) == 1
    assert (await read(runtime, Subscription, sub.id)).provisioning_status == "PROVISIONED"
    assert len(target.calls) == 2
