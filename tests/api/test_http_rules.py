"""GraphQL over HTTP: JSON bodies only, no mutation over GET, graphql-response+json status
codes, CORS from an allow-list, a time limit, and X-Request-ID on every answer."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.clock import FixedClock
from app.config import Settings
from app.main import create_app
from app.providers.registry import build_providers
from app.runtime import build_runtime
from resolvers import catalog
from tests.api.conftest import StatementCounter
from tests.support.graphql import Api
from tests.support.snapshots import table_counts

AppFactory = Callable[..., Awaitable[httpx.AsyncClient]]
GRAPHQL_RESPONSE = "application/graphql-response+json"
MUTATION = """mutation {
  trialStart(input: { customerId: "x", deployment: { externalId: "ns-1" } }) { __typename }
}"""


@pytest.fixture
async def client_with(
    settings: Settings, session_factory: async_sessionmaker[AsyncSession], clock: FixedClock
) -> AsyncIterator[AppFactory]:
    async with AsyncExitStack() as stack:

        async def make(**overrides: Any) -> httpx.AsyncClient:
            custom = Settings(
                **{"environment": "test", "database_url": settings.database_url, **overrides}
            )
            providers = build_providers(custom, session_factory, clock)
            runtime = build_runtime(
                custom, sessions=session_factory, clock=clock, providers=providers
            )
            transport = httpx.ASGITransport(app=create_app(runtime=runtime))
            client = httpx.AsyncClient(transport=transport, base_url="http://testserver")
            return await stack.enter_async_context(client)

        yield make


def _code(response: httpx.Response) -> str:
    code: str = response.json()["errors"][0]["extensions"]["code"]
    return code


# Methods and content types


async def test_get_runs_queries(api: Api) -> None:
    response = await api.client.get("/graphql", params={"query": "{ viewer { name } }"})

    assert response.status_code == 200
    assert response.json()["data"] == {"viewer": None}


async def test_get_never_runs_a_mutation(
    api: Api, db: AsyncSession, sql_statements: StatementCounter
) -> None:
    before = await table_counts(db)
    sql_statements.reset()

    response = await api.client.get("/graphql", params={"query": MUTATION})

    assert response.status_code == 405
    assert response.headers["Allow"] == "POST"
    assert _code(response) == "METHOD_NOT_ALLOWED"
    assert response.json()["errors"][0]["message"] == (
        "Mutations are not allowed over GET; use POST."
    )
    assert sql_statements.count == 0
    assert await table_counts(db) == before


@pytest.mark.parametrize(
    ("content_type", "content"),
    [
        ("application/x-www-form-urlencoded", "query=" + MUTATION),
        ("multipart/form-data; boundary=xyz", "--xyz\r\n\r\n" + MUTATION + "\r\n--xyz--"),
        ("text/plain", '{"query": "' + MUTATION.replace("\n", " ").replace('"', '\\"') + '"}'),
        (None, '{"query": "{ products { code } }"}'),
    ],
)
async def test_posts_a_browser_may_send_cross_site_are_refused(
    api: Api, sql_statements: StatementCounter, content_type: str | None, content: str
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}

    response = await api.client.post("/graphql", content=content, headers=headers)

    assert response.status_code == 415
    assert _code(response) == "UNSUPPORTED_MEDIA_TYPE"
    assert response.headers["Accept-Post"] == "application/json"
    assert sql_statements.count == 0


async def test_json_with_a_charset_is_json(api: Api) -> None:
    response = await api.client.post(
        "/graphql",
        content='{"query": "{ viewer { name } }"}',
        headers={"Content-Type": "application/json; charset=utf-8"},
    )

    assert response.status_code == 200
    assert response.json()["data"] == {"viewer": None}


async def test_a_body_that_is_not_json_is_a_json_400(api: Api) -> None:
    response = await api.client.post(
        "/graphql", content="{not json", headers={"Content-Type": "application/json"}
    )

    assert response.status_code == 400
    assert _code(response) == "BAD_REQUEST"


# Media types and status codes


async def _post(api: Api, query: str, accept: str | None) -> httpx.Response:
    headers = {"Accept": accept} if accept else {}
    return await api.client.post("/graphql", json={"query": query}, headers=headers)


@pytest.mark.parametrize(
    "accept",
    [GRAPHQL_RESPONSE, f"{GRAPHQL_RESPONSE}, application/json;q=0.9", "*/*, " + GRAPHQL_RESPONSE],
)
async def test_graphql_response_json_when_asked_for(api: Api, accept: str) -> None:
    response = await _post(api, "{ viewer { name } }", accept)

    assert response.status_code == 200
    assert response.headers["content-type"] == GRAPHQL_RESPONSE
    assert response.json() == {
        "data": {"viewer": None},
        "extensions": response.json()["extensions"],
    }


@pytest.mark.parametrize(
    "query",
    [
        "{ viewer { name }",  # does not parse
        "{ viewer { nope } }",  # does not validate
        "{ customers(first: 1000) { nodes { name } } }",  # page size
        "{ a: customers(first: 100) { nodes { subscriptions(first: 100) { nodes { id } } } } }",
    ],
)
async def test_a_request_error_is_a_400_without_data(api: Api, query: str) -> None:
    response = await _post(api, query, GRAPHQL_RESPONSE)

    assert response.status_code == 400
    assert response.headers["content-type"] == GRAPHQL_RESPONSE
    assert "data" not in response.json()
    assert response.json()["errors"]
    assert "rateLimit" in response.json()["extensions"]


async def test_an_error_during_execution_is_still_a_200(api: Api) -> None:
    response = await _post(api, "{ customers { nodes { name } } }", GRAPHQL_RESPONSE)

    assert response.status_code == 200
    assert response.json()["data"] is None
    assert _code(response) == "UNAUTHENTICATED"


@pytest.mark.parametrize("accept", [None, "application/json", "*/*", "text/html"])
async def test_application_json_answers_are_200_as_before(api: Api, accept: str | None) -> None:
    response = await _post(api, "{ viewer { nope } }", accept)

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json()["data"] is None


async def test_over_budget_is_a_429_with_retry_after(client_with: AppFactory) -> None:
    client = await client_with(rate_limit_points=1)
    headers = {"Accept": GRAPHQL_RESPONSE}
    query = {"query": "{ products { code } }"}  # cost 1

    spent = await client.post("/graphql", json=query, headers=headers)
    refused = await client.post("/graphql", json=query, headers=headers)

    assert spent.status_code == 200
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "60"
    assert _code(refused) == "RATE_LIMITED"
    assert "data" not in refused.json()


# CORS


PREFLIGHT = {
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "authorization, content-type",
}


async def test_a_preflight_from_an_allowed_origin_is_answered(client_with: AppFactory) -> None:
    client = await client_with(cors_origins="https://app.example, https://admin.example")
    origin = {"Origin": "https://app.example"}

    preflight = await client.options("/graphql", headers={**PREFLIGHT, **origin})
    actual = await client.post("/graphql", json={"query": "{ viewer { name } }"}, headers=origin)

    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == "https://app.example"
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    assert "authorization" in preflight.headers["Access-Control-Allow-Headers"].lower()
    assert actual.headers["Access-Control-Allow-Origin"] == "https://app.example"
    assert actual.headers["Access-Control-Expose-Headers"] == "X-Request-ID"


async def test_a_preflight_from_another_origin_gets_no_cors_headers(
    client_with: AppFactory,
) -> None:
    client = await client_with(cors_origins="https://app.example")
    evil = {"Origin": "https://evil.example"}

    preflight = await client.options("/graphql", headers={**PREFLIGHT, **evil})
    actual = await client.post("/graphql", json={"query": "{ viewer { name } }"}, headers=evil)

    assert preflight.status_code == 400
    assert "Access-Control-Allow-Origin" not in preflight.headers
    assert "Access-Control-Allow-Origin" not in actual.headers


async def test_without_an_allow_list_there_is_no_cors(api: Api) -> None:
    origin = {"Origin": "https://app.example"}

    preflight = await api.client.options("/graphql", headers={**PREFLIGHT, **origin})

    assert preflight.status_code == 405
    assert "Access-Control-Allow-Origin" not in preflight.headers


# Time limit and request ids


async def test_a_request_over_the_time_limit_is_cancelled_with_a_503(
    client_with: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    cancelled = asyncio.Event()

    async def slow(*args: object) -> list[object]:
        try:
            await asyncio.sleep(5)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return []

    monkeypatch.setattr(catalog, "products", slow)
    client = await client_with(request_timeout_seconds=0.05)

    response = await client.post("/graphql", json={"query": "{ products { code } }"})

    assert response.status_code == 503
    assert _code(response) == "REQUEST_TIMEOUT"
    assert response.headers["X-Request-ID"]
    assert cancelled.is_set()


async def test_every_answer_carries_a_request_id(api: Api) -> None:
    answers = [
        await api.client.get("/healthz"),
        await api.client.post("/graphql", json={"query": "{ viewer { name } }"}),
        await api.client.post("/graphql", content="x", headers={"Content-Type": "text/plain"}),
        await api.client.post("/graphql", json={}, headers={"Authorization": "Bearer nope"}),
    ]
    echoed = await api.client.get("/healthz", headers={"X-Request-ID": "trace-7"})

    assert all(len(answer.headers["X-Request-ID"]) == 32 for answer in answers)
    assert echoed.headers["X-Request-ID"] == "trace-7"
