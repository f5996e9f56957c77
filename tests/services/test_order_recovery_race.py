"""Two workers (and, in one case, the client's retry) race to finish one order cut after
its charge, on a database of their own (real, separately committed transactions; SQLite
and PostgreSQL): it completes once, with one charge and one payment."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col

from app.clock import FixedClock
from app.config import Settings
from app.db.engine import create_session_factory
from app.db.tables import (
    AuditEvent,
    Invoice,
    LedgerPayment,
    LedgerRefund,
    Order,
    Payment,
    Subscription,
)
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


@pytest.mark.parametrize("with_retry", [False, True], ids=["workers", "workers-and-retry"])
async def test_racers_complete_a_cut_order_once(
    engine: AsyncEngine, settings: Settings, with_retry: bool
) -> None:
    clock = FixedClock(PLACED_AT)
    runtime = _runtime(settings, engine, clock)
    async with runtime.sessions() as db, db.begin():
        who = await buyer(db)
    token = await quote(runtime, who, AddSeats(5))
    real = runtime.providers.billing
    runtime.providers.billing = Failing(real, after="collect_payment", error=crash())
    key = f"raced-{with_retry}"
    with pytest.raises(asyncio.CancelledError):
        await place(runtime, who, token, key)
    runtime.providers.billing = real
    clock.set(PLACED_AT + timedelta(minutes=2))
    workers = [Worker(runtime, WorkerOptions(jitter=0, worker_id=f"w-{n}")) for n in (1, 2)]
    retry = [place(runtime, who, token, key)] if with_retry else []

    answers = await asyncio.gather(*(worker.run_once() for worker in workers), *retry)

    if with_retry:
        assert answers[-1].order.status is OrderStatus.COMPLETED
    async with runtime.sessions() as db:
        order = (await db.scalars(sa.select(Order).where(col(Order.idempotency_key) == key))).one()
        subscription = await db.get(Subscription, who.subscription.id)
        assert subscription is not None
        assert (order.status, subscription.seats) == (OrderStatus.COMPLETED, 15)
    of_order = col(Invoice.order_id) == order.id
    [invoice_ref] = await _rows(runtime, sa.select(col(Invoice.provider_ref)).where(of_order))
    assert await _count(runtime, LedgerPayment, col(LedgerPayment.invoice_ref) == invoice_ref) == 1
    assert await _count(runtime, LedgerRefund, col(LedgerRefund.invoice_ref) == invoice_ref) == 0
    paid = col(Payment.invoice_id).in_(sa.select(col(Invoice.id)).where(of_order))
    assert await _count(runtime, Payment, paid) == 1
    on_subscription = col(AuditEvent.target_id) == str(who.subscription.id)
    placed = col(AuditEvent.action) == "order.placed"
    assert await _count(runtime, AuditEvent, placed, on_subscription) == 1
    on_order = col(AuditEvent.target_id) == str(order.id)
    resumed = col(AuditEvent.action) == "order.resumed"
    assert await _count(runtime, AuditEvent, resumed, on_order) <= 1  # one worker claimed it


async def _rows(runtime: Runtime, statement: Any) -> list[Any]:
    async with runtime.sessions() as db:
        return [row for (row,) in (await db.execute(statement)).all()]


async def _count(runtime: Runtime, table: type, *where: Any) -> int:
    async with runtime.sessions() as db:
        stmt = sa.select(sa.func.count()).select_from(table).where(*where)
        return int((await db.execute(stmt)).scalar_one())
