"""Two workers and the client's retry race to finish one order cut after its charge, on a
database of their own (real, separately committed transactions; SQLite and PostgreSQL):
it completes once, with one charge and one payment, and every racer agrees."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col

from app.clock import FixedClock
from app.config import Settings
from app.db.engine import create_session_factory
from app.db.tables import AuditEvent, LedgerPayment, LedgerRefund, Order, Payment, Subscription
from app.domain.enums import OrderStatus
from app.domain.pricing import AddSeats
from app.providers.registry import build_providers
from app.runtime import Runtime, build_runtime
from app.services.worker.options import WorkerOptions
from app.services.worker.runner import Worker
from tests.services.recovery_support import Failing, buyer, crash, place, quote
from tests.services.test_order_recovery import PLACED_AT
from tests.support.fresh_database import fresh_database


@pytest.fixture(scope="module")
async def engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    async with fresh_database(settings) as engine:
        yield engine


def _runtime(settings: Settings, engine: AsyncEngine, clock: FixedClock) -> Runtime:
    sessions = create_session_factory(engine)
    providers = build_providers(settings, sessions, clock)
    return build_runtime(settings, sessions=sessions, clock=clock, providers=providers)


async def _count(runtime: Runtime, table: type, *where: object) -> int:
    async with runtime.sessions() as db:
        stmt = sa.select(sa.func.count()).select_from(table).where(*where)
        return int((await db.execute(stmt)).scalar_one())


async def test_two_workers_and_a_retry_complete_a_cut_order_once(
    engine: AsyncEngine, settings: Settings
) -> None:
    clock = FixedClock(PLACED_AT)
    runtime = _runtime(settings, engine, clock)
    async with runtime.sessions() as db, db.begin():
        who = await buyer(db)
    token = await quote(runtime, who, AddSeats(5))
    real = runtime.providers.billing
    runtime.providers.billing = Failing(real, after="collect_payment", error=crash())
    with pytest.raises(asyncio.CancelledError):
        await place(runtime, who, token, "raced")
    runtime.providers.billing = real
    clock.set(PLACED_AT + timedelta(minutes=2))
    workers = [Worker(runtime, WorkerOptions(jitter=0, worker_id=f"w-{n}")) for n in (1, 2)]

    *_, retried = await asyncio.gather(
        *(worker.run_once() for worker in workers), place(runtime, who, token, "raced")
    )

    assert retried.order.status is OrderStatus.COMPLETED
    async with runtime.sessions() as db:
        order = (
            await db.scalars(sa.select(Order).where(col(Order.idempotency_key) == "raced"))
        ).one()
        subscription = await db.get(Subscription, who.subscription.id)
        assert subscription is not None
        assert (order.status, subscription.seats) == (OrderStatus.COMPLETED, 15)
    assert await _count(runtime, LedgerPayment) == 1
    assert await _count(runtime, LedgerRefund) == 0
    assert await _count(runtime, Payment) == 1
    placed = col(AuditEvent.action) == "order.placed"
    assert await _count(runtime, AuditEvent, placed) == 1
