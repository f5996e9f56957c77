"""API fixtures: the real ASGI app, running inside the test's rolled-back transaction."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from app.clock import FixedClock
from app.config import Settings
from app.main import create_app
from app.observability.metrics import Metrics
from app.providers.registry import build_providers
from app.runtime import Runtime, build_runtime
from tests.support.graphql import Api


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 6, 1, 12, tzinfo=UTC))


@pytest.fixture
async def runtime(
    app_settings: Settings, session_factory: async_sessionmaker[AsyncSession], clock: FixedClock
) -> AsyncIterator[Runtime]:
    # Built as the server builds them: behind the metrics proxy, counting into the runtime's
    # metrics (tests/api/test_metrics.py reads them).
    metrics = Metrics()
    providers = build_providers(app_settings, session_factory, clock, metrics)
    yield build_runtime(
        app_settings, sessions=session_factory, clock=clock, providers=providers, metrics=metrics
    )
    await providers.aclose()  # the Stripe provider's HTTP session (TEST_BILLING_PROVIDER)


@pytest.fixture
async def api(runtime: Runtime) -> AsyncIterator[Api]:
    transport = httpx.ASGITransport(app=create_app(runtime=runtime))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield Api(client)


class StatementCounter:
    def __init__(self) -> None:
        self.statements: list[str] = []

    def __call__(self, *args: object) -> None:
        self.statements.append(str(args[2]))

    @property
    def count(self) -> int:
        return len(self.statements)

    def reset(self) -> None:
        self.statements.clear()


@pytest.fixture
def sql_statements(connection: AsyncConnection) -> Iterator[StatementCounter]:
    counter = StatementCounter()
    target = connection.sync_connection
    assert target is not None
    event.listen(target, "before_cursor_execute", counter)
    yield counter
    event.remove(target, "before_cursor_execute", counter)
