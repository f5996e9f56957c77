"""PostgreSQL connections stay cheap to check out and the pool recovers from a server that
dropped them. No pre-ping (it sent BEGIN, `;` and ROLLBACK before every checkout's first
statement): a connection whose socket the server closed is replaced at checkout, from what
the driver already knows; one lost without the driver noticing fails that request once, as
a retryable 503, and the pool is invalidated, so the next request succeeds. Counted below
SQLAlchemy, at asyncpg's calls (bench/driver_calls.py). PostgreSQL only (TEST_DATABASE_URL)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy import event

from app.config import Settings
from app.db import engine as engine_module
from bench.driver_calls import counting_driver_calls
from tests.api.conftest import StatementCounter
from tests.scaling.database import autocommit_engine
from tests.scaling.demo_app import DemoApp, demo_app, on_postgresql

pytestmark = pytest.mark.skipif(
    not on_postgresql(), reason="asyncpg's round trips and pg_terminate_backend (PostgreSQL)"
)


@pytest.fixture
async def app(demo: Settings) -> AsyncIterator[DemoApp]:
    name = f"liveness-{uuid.uuid4().hex[:8]}"
    async with demo_app(demo.model_copy(update={"database_application_name": name})) as app:
        yield app


async def terminate_connections(app: DemoApp) -> int:
    """Ends, server side, every backend of the app's pool; returns how many there were."""
    pattern = f"{app.runtime.settings.database_application_name}:%"
    admin = autocommit_engine(app.runtime.settings.database_url)
    try:
        async with admin.connect() as connection:
            found = await connection.execute(
                sa.text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                    " WHERE application_name LIKE :pattern"
                ),
                {"pattern": pattern},
            )
            ended = int(found.scalar_one())
    finally:
        await admin.dispose()
    await asyncio.sleep(0.2)  # the server closes the sockets; the driver reads the EOF
    return ended


def clean(response: httpx.Response) -> bool:
    return response.status_code == 200 and "errors" not in response.json()


async def test_a_dashboard_request_sends_nothing_but_its_transactions(app: DemoApp) -> None:
    assert app.runtime.engine is not None
    statements = StatementCounter()
    event.listen(app.runtime.engine.sync_engine, "before_cursor_execute", statements)
    with counting_driver_calls() as driver:
        assert clean(await app.dashboard())  # warm: prepared statements, catalog rows
        statements.reset()
        driver.reset()
        assert clean(await app.dashboard())

    begins = driver.of("query", "BEGIN")
    ends = driver.of("query", "COMMIT") + driver.of("query", "ROLLBACK")
    assert driver.of("query", ";") == 0  # no ping
    assert begins == ends >= 1
    # Every other call is one of SQLAlchemy's statements, run as a prepared statement (a new
    # connection prepares each text once first: that is per connection, not per checkout).
    others = driver.count - begins - ends - driver.of("prepare")
    assert others == statements.count == driver.of("prepared")


async def test_connections_the_server_ended_are_replaced_unseen(app: DemoApp) -> None:
    assert clean(await app.dashboard())
    assert await terminate_connections(app) >= 1

    assert clean(await app.dashboard())
    assert clean(await app.dashboard())


async def test_a_connection_lost_unnoticed_fails_once_retryably(app: DemoApp) -> None:
    """Without the checkout check (a connection whose loss the driver has not seen yet)."""
    assert app.runtime.engine is not None
    sync_engine = app.runtime.engine.sync_engine
    event.remove(sync_engine, "checkout", engine_module.refuse_closed_connection)
    assert clean(await app.dashboard())
    assert await terminate_connections(app) >= 1

    refused = await app.dashboard()
    assert refused.status_code == 503
    assert refused.headers["retry-after"] == "1"
    assert refused.json()["errors"][0]["extensions"] == {"code": "SERVICE_UNAVAILABLE"}
    assert clean(await app.dashboard())
