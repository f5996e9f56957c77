"""Who may read GET /metrics: anyone in development and test; in production only the bearer
of METRICS_TOKEN, and nobody (404) when no token is set."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import httpx
import pytest
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.clock import FixedClock
from app.config import Settings
from app.http.metrics import metrics_allowed
from app.main import create_app
from app.runtime import build_runtime
from tests.api.test_production_profile import LICENSE_KEY, SECRET
from tests.support.graphql import Api, error_codes

TOKEN = "metrics-token-0123456789abcdef"
Client = Callable[[Settings], AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture
def production(database_url: str) -> Settings:
    return Settings(
        environment="production",
        jwt_secret=SECRET,
        license_signing_key=LICENSE_KEY,
        database_url=database_url,
    )


@pytest.fixture
def client(session_factory: async_sessionmaker[AsyncSession], clock: FixedClock) -> Client:
    @asynccontextmanager
    async def started(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
        runtime = build_runtime(settings, sessions=session_factory, clock=clock)
        transport = httpx.ASGITransport(app=create_app(runtime=runtime))
        try:
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                yield client
        finally:
            await runtime.aclose()

    return started


async def test_production_without_a_token_serves_no_metrics(
    production: Settings, client: Client
) -> None:
    async with client(production) as http:
        response = await http.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 404
    assert error_codes(response.json()) == ["NOT_FOUND"]


async def test_production_metrics_want_the_token(production: Settings, client: Client) -> None:
    settings = production.model_copy(update={"metrics_token": TOKEN})
    async with client(settings) as http:
        missing = await http.get("/metrics")
        wrong = await http.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}x"})
        basic = await http.get("/metrics", headers={"Authorization": f"Basic {TOKEN}"})
        right = await http.get("/metrics", headers={"Authorization": f"bearer {TOKEN}"})

    for refused in (missing, wrong, basic):
        assert refused.status_code == 401
        assert refused.headers["www-authenticate"] == "Bearer"
        assert error_codes(refused.json()) == ["UNAUTHENTICATED"]
        assert "fulfillment_" not in refused.text
    assert right.status_code == 200
    assert "# TYPE fulfillment_graphql_requests_total counter" in right.text


async def test_development_serves_metrics_to_anyone(api: Api) -> None:
    response = await api.client.get("/metrics")
    assert response.status_code == 200
    assert "# TYPE fulfillment_orders_total counter" in response.text


def test_a_token_set_is_wanted_in_every_environment(settings: Settings) -> None:
    with_token = settings.model_copy(update={"metrics_token": TOKEN})
    assert metrics_allowed(settings, None) is True
    assert metrics_allowed(with_token, None) is False
    assert metrics_allowed(with_token, f"Bearer {TOKEN}") is True


def test_a_short_metrics_token_is_refused() -> None:
    with pytest.raises(ValidationError, match="metrics_token"):
        Settings(metrics_token="short")
