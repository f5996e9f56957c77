"""The last redemption of a capped promo code, raced by two orders of two customers through
the ASGI app on a database of its own (real, separately committed transactions; SQLite and
PostgreSQL): exactly one order gets the discount, the other is refused with
PROMO_CODE_EXHAUSTED and charges nothing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col

from app.clock import FixedClock
from app.config import Settings
from app.db.engine import create_session_factory
from app.db.tables import Invoice, LedgerPayment, Promotion
from app.main import create_app
from app.providers.registry import build_providers
from app.runtime import build_runtime
from resolvers.ids import to_global_id
from tests.api.orders_support import PLACE, QUOTE
from tests.support import factories as f
from tests.support.fresh_database import fresh_database
from tests.support.graphql import Api, user_token


@pytest.fixture
def billing() -> str:
    return "local"


@pytest.fixture
async def engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    async with fresh_database(settings) as engine:
        yield engine


async def _buyer(engine: AsyncEngine, settings: Settings) -> tuple[str, str]:
    """(owner token, subscription id) of a new customer with a Premium subscription."""
    async with create_session_factory(engine)() as db, db.begin():
        customer = await f.customer(db)
        owner = user_token(settings, await f.user(db, member_of=customer))
        sub = await f.subscription(db, customer, seats=10, seats_in_use=8)
    return owner, to_global_id("Subscription", sub.id or 0)


async def _count(engine: AsyncEngine, table: type, *where: Any) -> int:
    async with create_session_factory(engine)() as db:
        stmt = sa.select(sa.func.count()).select_from(table).where(*where)
        return int((await db.execute(stmt)).scalar_one())


async def test_two_orders_race_for_the_last_redemption(
    engine: AsyncEngine, settings: Settings, app_settings: Settings
) -> None:
    buyers = [await _buyer(engine, settings) for _ in range(2)]
    sessions = create_session_factory(engine)
    async with sessions() as db, db.begin():
        db.add(Promotion(code="LAST", percent_off=20, max_redemptions=1))
    clock = FixedClock(datetime(2026, 7, 2, 12, tzinfo=UTC))
    providers = build_providers(app_settings, sessions, clock)
    runtime = build_runtime(app_settings, sessions=sessions, clock=clock, providers=providers)
    transport = httpx.ASGITransport(app=create_app(runtime=runtime))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        api = Api(client)
        tokens = []
        for owner, subscription in buyers:
            order = {
                "subscriptionId": subscription,
                "actions": [{"addSeats": {"seats": 5}}],
                "promoCode": "last",
            }
            quoted = await api.data(QUOTE, {"input": order}, token=owner)
            tokens.append(quoted["orderQuote"]["token"])
        placed = await asyncio.wait_for(
            asyncio.gather(
                *(
                    api.data(PLACE, {"token": token, "key": "race"}, token=owner)
                    for (owner, _), token in zip(buyers, tokens, strict=True)
                )
            ),
            timeout=30,
        )
    await providers.aclose()

    outcomes = sorted(
        r["orderPlace"].get("code") or r["orderPlace"]["order"]["status"] for r in placed
    )
    assert outcomes == ["COMPLETED", "PROMO_CODE_EXHAUSTED"], placed
    winner = next(r["orderPlace"]["order"] for r in placed if "order" in r["orderPlace"])
    assert winner["total"] == {"amount": "69790"}
    async with sessions() as db:
        promotion = (await db.scalars(sa.select(Promotion))).one()
    assert promotion.redemptions == 1
    assert await _count(engine, Invoice, col(Invoice.order_id).is_not(None)) == 1
    assert await _count(engine, LedgerPayment) == 1
