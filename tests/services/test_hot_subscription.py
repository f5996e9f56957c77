"""Many orders on one subscription at once, end to end through the ASGI app and its request
time limit, on a database of their own (SQLite and PostgreSQL):
- 40 concurrent add-seat orders within a limit they cannot all fit into: no 5xx, each one
  COMPLETED or ORDER_IN_PROGRESS with a retry hint, no lost update, one charge per
  completed order; the ones told to retry then go through with the same key;
- an order waiting behind a slow one answers ORDER_IN_PROGRESS before the request limit,
  having written nothing;
- a request cut by the limit while its charge is in flight still completes the order;
- a waiting order sends no SQL: statements per place are the same with 1 or 8 waiting;
- a lease held by another process (a billing job) is waited for until it is given back
  or runs out (a dead holder), and an order behind one kept too long is told to retry."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlmodel import col

from app.clock import FixedClock
from app.config import Settings
from app.db.engine import create_session_factory
from app.db.repositories import lifecycle
from app.db.tables import LedgerPayment, Order, OrderLease, Subscription
from app.domain.enums import OrderStatus
from app.main import create_app
from app.providers.billing import PaymentRecord
from app.providers.registry import build_providers
from app.runtime import Runtime, build_runtime
from resolvers.ids import to_global_id
from tests.api.orders_support import QUOTE
from tests.support import factories as f
from tests.support.fresh_database import fresh_database
from tests.support.graphql import Api, user_token

PLACE = """mutation($token: String!, $key: String!) {
  orderPlace(quoteToken: $token, idempotencyKey: $key) {
    __typename
    ... on OrderPlacePayload { order { status subscription { seats } } }
    ... on QuoteError { retryAfterSeconds }
    ... on UserError { code message } } }"""


@pytest.fixture(scope="module")
async def engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    async with fresh_database(settings) as engine:
        yield engine


class GatedBilling:
    """Payments wait at the gate (once `closed`), after (or before) the provider took them."""

    def __init__(self, inner: Any, *, charge_first: bool = False) -> None:
        self.inner, self.charge_first = inner, charge_first
        self.gate = asyncio.Event()
        self.gate.set()
        self.arrived = asyncio.Event()

    def close(self) -> None:
        self.gate.clear()
        self.arrived.clear()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def collect_payment(
        self, invoice_ref: str, payment_method: str, *, idempotency_key: str
    ) -> PaymentRecord:
        record = None
        if self.charge_first:
            record = await self.inner.collect_payment(
                invoice_ref, payment_method, idempotency_key=idempotency_key
            )
        self.arrived.set()
        await self.gate.wait()
        if record is None:
            record = await self.inner.collect_payment(
                invoice_ref, payment_method, idempotency_key=idempotency_key
            )
        return record  # type: ignore[no-any-return]


@dataclass
class World:
    api: Api
    owner: str
    subscription_id: int
    sessions: async_sessionmaker[AsyncSession]
    runtime: Runtime
    billing: GatedBilling
    settings: Settings

    @property
    def gid(self) -> str:
        return to_global_id("Subscription", self.subscription_id)

    async def quote(self, seats: int) -> str:
        order = {"subscriptionId": self.gid, "actions": [{"addSeats": {"seats": seats}}]}
        data = await self.api.data(QUOTE, {"input": order}, token=self.owner)
        token: str = data["orderQuote"]["token"]
        return token

    async def place(self, token: str, key: str, *, api: Api | None = None) -> httpx.Response:
        variables = {"token": token, "key": key}
        return await (api or self.api).post(PLACE, variables, token=self.owner)

    @asynccontextmanager
    async def patient(self) -> AsyncIterator[Api]:
        """Another app on the same database, subscription and gated billing, with the
        default request limits: an order placed through it is not cut by a short limit."""
        clock = self.runtime.clock
        assert isinstance(clock, FixedClock)
        runtime = _runtime(self.settings, self.sessions, clock)
        runtime.providers.billing = self.billing
        async with _client(runtime) as api:
            yield api

    async def charging(self, holder: asyncio.Task[httpx.Response]) -> None:
        """Wait (at most 5 s) until the order placed by `holder` is in its charge."""
        arrival = asyncio.ensure_future(self.billing.arrived.wait())
        await asyncio.wait({arrival, holder}, timeout=5, return_when=asyncio.FIRST_COMPLETED)
        if not arrival.done():
            arrival.cancel()
            answer = holder.result().text if holder.done() else "still running"
            raise AssertionError(f"the holding order never reached its charge: {answer}")

    async def figures(self) -> tuple[int, int, int]:
        """Seats, charges at the provider, orders completed."""
        async with self.sessions() as db:
            seats = await db.scalar(
                sa.select(col(Subscription.seats)).where(
                    col(Subscription.id) == self.subscription_id
                )
            )
            charges = await db.scalar(sa.select(sa.func.count()).select_from(LedgerPayment))
            completed = await db.scalar(
                sa.select(sa.func.count())
                .select_from(Order)
                .where(col(Order.status) == OrderStatus.COMPLETED)
            )
        return int(seats or 0), int(charges or 0), int(completed or 0)

    async def orders(self) -> int:
        async with self.sessions() as db:
            stmt = sa.select(sa.func.count()).select_from(Order)
            return int((await db.execute(stmt)).scalar_one())


async def _world(engine: AsyncEngine, settings: Settings, **limits: float) -> AsyncIterator[World]:
    sessions = create_session_factory(engine)
    async with sessions() as db, db.begin():
        customer = await f.customer(db)
        owner = user_token(settings, await f.user(db, member_of=customer))
        sub = await f.subscription(db, customer, seats=10, seats_in_use=8)
    clock = FixedClock(datetime(2026, 7, 2, 12, tzinfo=UTC))
    runtime = _runtime(settings.model_copy(update=limits), sessions, clock)
    billing = GatedBilling(runtime.providers.billing)
    runtime.providers.billing = billing
    async with _client(runtime) as api:
        yield World(api, owner, sub.id or 0, sessions, runtime, billing, settings)


def _runtime(
    settings: Settings, sessions: async_sessionmaker[AsyncSession], clock: FixedClock
) -> Runtime:
    providers = build_providers(settings, sessions, clock)
    return build_runtime(settings, sessions=sessions, clock=clock, providers=providers)


@asynccontextmanager
async def _client(runtime: Runtime) -> AsyncIterator[Api]:
    transport = httpx.ASGITransport(app=create_app(runtime=runtime))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield Api(client)


@pytest.fixture
async def world(engine: AsyncEngine, settings: Settings) -> AsyncIterator[World]:
    async for found in _world(
        engine, settings, request_timeout_seconds=6.0, order_charge_reserve_seconds=3.0
    ):
        yield found


@pytest.fixture
async def short(engine: AsyncEngine, settings: Settings) -> AsyncIterator[World]:
    """A one-second request limit, 0.4 s of it kept for the charge and completion."""
    async for found in _world(
        engine, settings, request_timeout_seconds=1.0, order_charge_reserve_seconds=0.4
    ):
        yield found


def _answer(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    placed: dict[str, Any] = body["data"]["orderPlace"]
    return placed


def _told_to_retry(placed: dict[str, Any]) -> bool:
    if placed["__typename"] == "OrderPlacePayload":
        assert placed["order"]["status"] == "COMPLETED", placed
        return False
    assert (placed["__typename"], placed["code"]) == ("QuoteError", "ORDER_IN_PROGRESS"), placed
    assert placed["retryAfterSeconds"] >= 1, placed
    return True


async def test_forty_concurrent_orders_on_one_subscription(world: World) -> None:
    wanted = list(range(1, 41))
    tokens = [await world.quote(n) for n in wanted]
    seats, charges, completed = await world.figures()

    responses = await asyncio.gather(
        *(world.place(token, f"hot-{n}") for n, token in zip(wanted, tokens, strict=True))
    )

    answers = [_answer(response) for response in responses]  # no 5xx, no top-level error
    retry = [n for n, placed in zip(wanted, answers, strict=True) if _told_to_retry(placed)]
    done = [n for n in wanted if n not in retry]
    assert done, "at least the first order completes"
    after = await world.figures()
    assert after == (seats + sum(done), charges + len(done), completed + len(done))

    for n in retry:  # told to retry: the same key goes through now that the queue is gone
        assert not _told_to_retry(_answer(await world.place(tokens[n - 1], f"hot-{n}")))
    assert await world.figures() == (seats + sum(wanted), charges + 40, completed + 40)


async def test_a_waiting_order_answers_in_progress_before_the_request_limit(
    short: World,
) -> None:
    first, second = await short.quote(1), await short.quote(2)
    seats, charges, completed = await short.figures()
    short.billing.close()
    async with short.patient() as patient:
        holder = asyncio.create_task(short.place(first, "slow", api=patient))
        await short.charging(holder)  # the first order holds the lease, charging slowly
        await _waiter_answers_in_progress(short, second)
        short.billing.gate.set()
        await holder
    await _completed(short, completed + 1)
    retried = _answer(await short.place(second, "behind"))
    assert retried["order"] == {"status": "COMPLETED", "subscription": {"seats": seats + 3}}
    assert await short.figures() == (seats + 3, charges + 2, completed + 2)


async def _waiter_answers_in_progress(short: World, token: str) -> None:
    orders = await short.orders()

    began = time.monotonic()
    waited = _answer(await short.place(token, "behind"))
    elapsed = time.monotonic() - began

    assert (waited["code"], waited["retryAfterSeconds"] >= 1) == ("ORDER_IN_PROGRESS", True)
    assert elapsed < 1.0  # answered within the request limit, not cut by it (a 503)
    assert await short.orders() == orders  # its claim was given back: nothing written


async def test_a_request_cut_during_its_charge_still_completes_the_order(short: World) -> None:
    token = await short.quote(4)
    seats, charges, completed = await short.figures()
    short.billing = GatedBilling(short.billing.inner, charge_first=True)
    short.runtime.providers.billing = short.billing
    short.billing.close()  # the provider takes the payment, then its answer is slow

    response = await short.place(token, "cut")
    assert response.status_code == 503  # the limit cut the request mid-charge
    assert (await short.figures())[1] == charges + 1  # charged, not yet completed
    short.billing.gate.set()
    await _completed(short, completed + 1)  # the shielded order finishes on its own

    assert await short.figures() == (seats + 4, charges + 1, completed + 1)
    async with short.sessions() as db:
        assert (await db.scalars(sa.select(OrderLease))).all() == []
    replayed = _answer(await short.place(token, "cut"))
    assert replayed["order"] == {"status": "COMPLETED", "subscription": {"seats": seats + 4}}


async def _completed(world: World, orders: int) -> None:
    """Wait (at most 5 s) until `orders` orders are COMPLETED."""
    for _ in range(500):
        if (await world.figures())[2] >= orders:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{orders} orders did not complete: {await world.figures()}")


async def test_statements_per_place_do_not_grow_with_the_orders_waiting(
    world: World, engine: AsyncEngine
) -> None:
    await _statements_per_place(world, engine, waiting=1)  # warm: first-use work not counted
    one = await _statements_per_place(world, engine, waiting=1)
    eight = await _statements_per_place(world, engine, waiting=8)
    assert one == eight


async def _statements_per_place(world: World, engine: AsyncEngine, waiting: int) -> float:
    """One order held in its charge for 0.3 s while `waiting` more queue behind it: the SQL
    statements sent meanwhile, per order placed (all must complete)."""
    tokens = [await world.quote(1) for _ in range(waiting + 1)]
    run = time.monotonic_ns()
    statements: list[object] = []

    def record(*args: object) -> None:
        statements.append(args[2])

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        world.billing.close()
        holder = asyncio.create_task(world.place(tokens[0], f"h{run}"))
        await world.charging(holder)
        queued = [
            asyncio.create_task(world.place(token, f"w{run}-{i}"))
            for i, token in enumerate(tokens[1:])
        ]
        await asyncio.sleep(0.3)
        world.billing.gate.set()
        answers = [_answer(await task) for task in (holder, *queued)]
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)
    assert [a["order"]["status"] for a in answers] == ["COMPLETED"] * (waiting + 1)
    return len(statements) / (waiting + 1)


async def _job_holds_the_lease(world: World, until: datetime) -> None:
    """A billing job (in another process) holds the subscription's order lease."""
    async with world.sessions() as db, db.begin():
        now = world.runtime.clock.now()
        assert await lifecycle.take_lease(db, world.subscription_id, now, until)


async def test_an_order_waits_for_a_lease_held_elsewhere_until_it_is_given_back(
    world: World,
) -> None:
    token = await world.quote(5)
    seats, charges, completed = await world.figures()
    until = world.runtime.clock.now() + timedelta(minutes=5)
    await _job_holds_the_lease(world, until)
    placing = asyncio.create_task(world.place(token, "after-the-job"))
    await asyncio.sleep(0.3)
    assert not placing.done()  # waiting for the job, not refused

    async with world.sessions() as db, db.begin():
        await lifecycle.release_lease(db, world.subscription_id, until)

    placed = _answer(await placing)
    assert placed["order"] == {"status": "COMPLETED", "subscription": {"seats": seats + 5}}
    assert await world.figures() == (seats + 5, charges + 1, completed + 1)


async def test_a_dead_holders_lease_runs_out_and_the_waiting_order_takes_it(
    world: World,
) -> None:
    token = await world.quote(6)
    seats, charges, completed = await world.figures()
    clock = world.runtime.clock
    assert isinstance(clock, FixedClock)
    await _job_holds_the_lease(world, clock.now() + timedelta(minutes=5))  # never given back
    placing = asyncio.create_task(world.place(token, "after-a-crash"))
    await asyncio.sleep(0.3)
    assert not placing.done()
    clock.set(clock.now() + timedelta(minutes=6))  # the dead holder's lease has expired

    placed = _answer(await placing)
    assert placed["order"] == {"status": "COMPLETED", "subscription": {"seats": seats + 6}}
    assert await world.figures() == (seats + 6, charges + 1, completed + 1)


async def test_an_order_behind_a_job_that_keeps_its_lease_is_told_to_retry(short: World) -> None:
    token = await short.quote(7)
    figures, orders = await short.figures(), await short.orders()
    await _job_holds_the_lease(short, short.runtime.clock.now() + timedelta(minutes=5))

    placed = _answer(await short.place(token, "job-keeps-it"))

    assert (placed["code"], placed["retryAfterSeconds"] >= 1) == ("ORDER_IN_PROGRESS", True)
    assert (await short.figures(), await short.orders()) == (figures, orders)
