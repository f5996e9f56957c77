"""Orders under concurrency, end to end through the ASGI app on a database of their own
(real, separately committed transactions; SQLite and PostgreSQL):
- 50 concurrent orderPlace calls with one idempotency key: one order, one invoice, one
  charge at the provider, 50 identical responses;
- 20 concurrent add-seat orders on one subscription, each with its own quote and key:
  every one completes and the seats end at initial + sum (no lost update).
Each runs with the local provider and with Stripe (the fake Stripe API, over HTTP), and
counts the charges where the money moves: the local ledger's payments, or Stripe's."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.clock import FixedClock
from app.config import Settings
from app.db.engine import create_session_factory
from app.db.tables import Invoice, LedgerPayment, Order, Payment
from app.main import create_app
from app.providers.registry import build_providers
from app.runtime import build_runtime
from resolvers.ids import to_global_id
from tests.api.orders_support import PLACE, QUOTE
from tests.fakes.stripe import StripeFake
from tests.support import factories as f
from tests.support.fresh_database import fresh_database
from tests.support.graphql import Api, user_token


@pytest.fixture(scope="module")
async def engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    async with fresh_database(settings) as engine:
        yield engine


BILLING = pytest.mark.parametrize("billing", ["local", "stripe"])


@pytest.fixture
async def world(
    engine: AsyncEngine, settings: Settings, app_settings: Settings, request: pytest.FixtureRequest
) -> AsyncIterator[tuple[Api, str, str, Callable[[], Awaitable[int]]]]:
    sessions = create_session_factory(engine)
    async with sessions() as db, db.begin():
        customer = await f.customer(db)
        owner = user_token(settings, await f.user(db, member_of=customer))
        sub = await f.subscription(db, customer, seats=10, seats_in_use=8)
    clock = FixedClock(datetime(2026, 7, 2, 12, tzinfo=UTC))
    providers = build_providers(app_settings, sessions, clock)
    runtime = build_runtime(app_settings, sessions=sessions, clock=clock, providers=providers)
    charges = _charge_counter(app_settings, sessions, request)
    transport = httpx.ASGITransport(app=create_app(runtime=runtime))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield Api(client), owner, to_global_id("Subscription", sub.id or 0), charges
    await providers.aclose()


def _charge_counter(
    settings: Settings, sessions: async_sessionmaker[AsyncSession], request: pytest.FixtureRequest
) -> Callable[[], Awaitable[int]]:
    """How many charges the billing provider made: Stripe's (the fake's) or the ledger's."""
    if settings.billing_provider == "stripe":
        fake: StripeFake = request.getfixturevalue("stripe_fake")

        async def stripe_charges() -> int:
            return len(fake.objects("charge"))

        return stripe_charges
    return lambda: _count(sessions, LedgerPayment)


async def _quote(api: Api, owner: str, subscription: str, seats: int) -> str:
    order = {"subscriptionId": subscription, "actions": [{"addSeats": {"seats": seats}}]}
    data = await api.data(QUOTE, {"input": order}, token=owner)
    token: str = data["orderQuote"]["token"]
    return token


async def _place(api: Api, owner: str, token: str, key: str) -> dict[str, Any]:
    response = await api.post(PLACE, {"token": token, "key": key}, token=owner)
    body: dict[str, Any] = response.json()
    return body


async def _count(sessions: async_sessionmaker[AsyncSession], table: type, *where: Any) -> int:
    async with sessions() as db:
        stmt = sa.select(sa.func.count()).select_from(table).where(*where)
        return int((await db.execute(stmt)).scalar_one())


@BILLING
async def test_fifty_concurrent_places_with_one_key_charge_once(
    world: Any, engine: AsyncEngine
) -> None:
    api, owner, subscription, charges = world
    sessions = create_session_factory(engine)
    token = await _quote(api, owner, subscription, seats=5)
    orders_before = await _count(sessions, Order)
    payments_before = await _count(sessions, Payment)
    charges_before = await charges()

    responses = await asyncio.gather(*(_place(api, owner, token, "one-key") for _ in range(50)))

    # Identical answers; only the rate-limit budget in `extensions` differs per request.
    assert all(response["data"] == responses[0]["data"] for response in responses)
    order = responses[0]["data"]["orderPlace"]["order"]
    assert (order["status"], order["total"]) == ("COMPLETED", {"amount": "87238"})
    assert await _count(sessions, Order) == orders_before + 1
    assert await charges() == charges_before + 1
    assert await _count(sessions, Invoice, Invoice.order_id.is_not(None)) == orders_before + 1  # type: ignore[union-attr]
    assert await _count(sessions, Payment) == payments_before + 1
    assert order["subscription"]["seats"] == 15


@BILLING
async def test_twenty_concurrent_add_seat_orders_lose_no_update(world: Any) -> None:
    api, owner, subscription, charges = world
    wanted = list(range(1, 21))
    tokens = [await _quote(api, owner, subscription, seats=n) for n in wanted]
    charges_before = await charges()

    responses = await asyncio.gather(
        *(_place(api, owner, token, f"key-{n}") for n, token in zip(wanted, tokens, strict=True))
    )

    statuses = [r["data"]["orderPlace"].get("order", {}).get("status") for r in responses]
    assert statuses == ["COMPLETED"] * 20, responses
    data = await api.data(
        "query($id: ID!) { node(id: $id) { ... on Subscription { seats } } }",
        {"id": subscription},
        token=owner,
    )
    assert data["node"]["seats"] == 10 + sum(wanted)
    assert await charges() == charges_before + 20
