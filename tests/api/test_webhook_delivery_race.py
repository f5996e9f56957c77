"""Stripe delivering one event several times at once (its retries overlap when an answer is
slow): exactly one delivery stores it and queues its processing (202), the others find it
stored (200). On a database of its own with real concurrent transactions, SQLite and
PostgreSQL (TEST_DATABASE_URL)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.clock import FixedClock
from app.config import Settings
from app.db.engine import create_session_factory
from app.main import create_app
from tests.api.webhook_support import deliver, event, hooked_runtime, stored
from tests.support.fresh_database import fresh_database

RACERS = 6


@pytest.fixture(scope="module")
async def engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    async with fresh_database(settings) as engine:
        yield engine


@pytest.fixture(scope="module")
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return create_session_factory(engine)


@pytest.fixture
async def client(
    settings: Settings, sessions: async_sessionmaker[AsyncSession]
) -> AsyncIterator[httpx.AsyncClient]:
    clock = FixedClock(datetime(2026, 6, 1, 12, tzinfo=UTC))
    app = create_app(runtime=hooked_runtime(settings, sessions, clock))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


async def _stored(sessions: async_sessionmaker[AsyncSession]) -> tuple[int, int]:
    async with sessions() as db:
        return await stored(db)


async def test_one_event_delivered_at_once_many_times_is_stored_once(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    before = await _stored(sessions)
    body = event("invoice.paid", {"id": "inv_000001", "object": "invoice"}, "evt_race_1")

    responses = await asyncio.gather(*(deliver(client, body) for _ in range(RACERS)))

    assert sorted(r.status_code for r in responses) == [200] * (RACERS - 1) + [202]
    assert [r.json()["duplicate"] for r in responses].count(False) == 1
    assert await _stored(sessions) == (before[0] + 1, before[1] + 1)


async def test_different_events_at_once_are_each_stored(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    before = await _stored(sessions)
    bodies = [event("invoice.paid", {"id": f"inv_00000{n}"}) for n in range(RACERS)]

    responses = await asyncio.gather(*(deliver(client, body) for body in bodies))

    assert [r.status_code for r in responses] == [202] * RACERS
    assert await _stored(sessions) == (before[0] + RACERS, before[1] + RACERS)
