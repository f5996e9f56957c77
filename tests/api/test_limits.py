"""The edge's limits: depth, aliases, tokens, page size, cost, the caller's budget and the body
size. Each is refused before anything runs (no SQL statement, no resolver), with its code."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from datetime import timedelta
from typing import Any

import httpx
import pytest
import strawberry.schema.schema as strawberry_schema
from graphql import OverlappingFieldsCanBeMergedRule
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from strawberry.extensions import ParserCache

from app.clock import FixedClock
from app.config import Settings
from app.domain.enums import TokenKind
from app.main import create_app
from app.providers.registry import build_providers
from app.runtime import build_runtime
from schema import validation
from schema.build import schema as default_schema
from schema.cost import PageSizeOutOfRange, operation_cost
from tests.api.conftest import StatementCounter
from tests.support.graphql import Api, api_token, error_codes

AppFactory = Callable[..., Awaitable[Api]]


@pytest.fixture
async def api_with(
    settings: Settings, session_factory: async_sessionmaker[AsyncSession], clock: FixedClock
) -> AsyncIterator[AppFactory]:
    """The real app with some settings changed, inside the test's transaction."""
    async with AsyncExitStack() as stack:

        async def make(**overrides: Any) -> Api:
            custom = Settings(
                **{"environment": "test", "database_url": settings.database_url, **overrides}
            )
            providers = build_providers(custom, session_factory, clock)
            runtime = build_runtime(
                custom, sessions=session_factory, clock=clock, providers=providers
            )
            transport = httpx.ASGITransport(app=create_app(runtime=runtime))
            client = httpx.AsyncClient(transport=transport, base_url="http://testserver")
            return Api(await stack.enter_async_context(client))

        yield make


def _nested_invoices(levels: int) -> str:
    """invoices -> nodes -> customer -> invoices ...: three levels of depth per round."""
    query = "name"
    for _ in range(levels):
        query = f"invoices(first: 1) {{ nodes {{ customer {{ {query} }} }} }}"
    return "{ " + query + " }"


def _beyond_authentication(counter: StatementCounter) -> list[str]:
    """Statements other than the token lookup (and its savepoint): those of resolvers."""
    return [s for s in counter.statements if "api_token" not in s and "SAVEPOINT" not in s]


def _code(body: dict[str, Any]) -> str:
    codes = error_codes(body)
    assert len(codes) == 1, body
    return codes[0]


# Depth, aliases, tokens: validation and parsing


async def test_a_query_deeper_than_twelve_is_refused_before_it_runs(
    api: Api, sql_statements: StatementCounter
) -> None:
    deep = await api.query(_nested_invoices(5))  # 15 levels

    assert _code(deep) == "QUERY_TOO_COMPLEX"
    assert "exceeds maximum operation depth of 12" in deep["errors"][0]["message"]
    assert deep["data"] is None
    assert sql_statements.count == 0
    # Twelve levels pass the limits and run: anonymous callers are then refused by the resolver.
    assert error_codes(await api.query(_nested_invoices(4))) == ["UNAUTHENTICATED"]


async def test_more_than_thirty_aliases_are_refused(
    api: Api, sql_statements: StatementCounter
) -> None:
    def aliased(count: int) -> str:
        return "{ " + " ".join(f"a{i}: products {{ code }}" for i in range(count)) + " }"

    refused = await api.query(aliased(31))

    assert _code(refused) == "QUERY_TOO_COMPLEX"
    assert refused["errors"][0]["message"] == "31 aliases found. Allowed: 30"
    assert sql_statements.count == 0
    assert "errors" not in await api.query(aliased(30))


async def test_a_thousand_aliases_stop_at_the_token_limit(
    api: Api, sql_statements: StatementCounter
) -> None:
    query = "{ " + " ".join(f"a{i}: viewer {{ name }}" for i in range(1000)) + " }"

    body = await api.query(query)

    assert _code(body) == "QUERY_TOO_COMPLEX"
    assert "more than 2000 tokens" in body["errors"][0]["message"]
    assert body["data"] is None
    assert sql_statements.count == 0


async def test_a_plain_syntax_error_has_no_limit_code(api: Api) -> None:
    body = await api.query("{ products { code }")

    assert body["errors"][0]["message"].startswith("Syntax Error")
    assert "extensions" not in body["errors"][0]


# Page size and cost: after validation, with the variables


async def test_first_over_a_hundred_is_refused_before_any_resolver(
    api: Api, db: AsyncSession, sql_statements: StatementCounter
) -> None:
    literal = await api.query("{ subscriptions(first: 10000) { nodes { number } } }")
    variable = await api.query(
        "query($n: Int!) { customers(first: $n) { nodes { name } } }", {"n": 101}
    )

    for body in (literal, variable):
        # VALIDATION, not UNAUTHENTICATED: the anonymous caller never reached the resolver.
        assert _code(body) == "VALIDATION"
        assert body["errors"][0]["message"] == "`first` must be between 1 and 100."
        assert body["data"] is None
    assert sql_statements.count == 0


async def test_a_costly_query_is_refused_with_its_cost(
    api: Api, db: AsyncSession, sql_statements: StatementCounter
) -> None:
    admin = await api_token(db, TokenKind.ADMIN)
    query = """query($inner: Int!) {
      customers(first: 100) {
        nodes { name subscriptions(first: $inner) { nodes { plan { code } } } }
      }
    }"""
    sql_statements.reset()

    body = await api.query(query, {"inner": 100}, token=admin)

    assert _code(body) == "QUERY_TOO_COMPLEX"
    # customers 1 + 100 x (nodes 1 + subscriptions 1 + 100 x (nodes 1 + plan 1))
    assert body["errors"][0]["extensions"]["cost"] == 1 + 100 * (1 + 1 + 100 * 2) == 20_201
    assert body["errors"][0]["extensions"]["maxCost"] == 5000
    assert body["data"] is None
    assert body["extensions"]["rateLimit"]["remaining"] == 50_000
    assert _beyond_authentication(sql_statements) == []

    cheaper = await api.query(query, {"inner": 10}, token=admin)
    assert "errors" not in cheaper
    assert cheaper["extensions"]["rateLimit"]["cost"] == 1 + 100 * (1 + 1 + 10 * 2) == 2_201


def _cost(query: str, variables: dict[str, Any] | None = None) -> int:
    from graphql import parse

    return operation_cost(default_schema._schema, parse(query), None, variables)


def test_cost_counts_objects_and_multiplies_by_pages() -> None:
    assert _cost("{ products { code name } viewer { name } }") == 2
    assert _cost("{ __typename products { code } }") == 1
    # the argument's default page (20), a variable's default, a variable's value
    assert _cost("{ customers { nodes { name } } }") == 1 + 20 * 1
    assert _cost("query($n: Int! = 5) { customers(first: $n) { nodes { name } } }") == 6
    assert (
        _cost("query($n: Int!) { customers(first: $n) { pageInfo { hasNextPage } } }", {"n": 7})
        == 8
    )
    assert (
        _cost("query($n: Int!) { customers(first: $n) { edges { node { name } } } }", {"n": 7})
        == 1 + 7 * 2
    )


def test_cost_counts_fragments_per_spread_and_every_branch() -> None:
    query = """
      query { a: node(id: "x") { ...N } b: node(id: "y") { ...N } }
      fragment N on Node { ... on Customer { invoices(first: 2) { nodes { total { amount } } } }
                           ... on Invoice { customer { name } } }
    """
    per_node = 1 + (1 + 2 * (1 + 1)) + 1
    assert _cost(query) == 2 * per_node


def test_cost_refuses_pages_out_of_range() -> None:
    with pytest.raises(PageSizeOutOfRange):
        _cost("{ customers(first: 0) { nodes { name } } }")
    with pytest.raises(PageSizeOutOfRange):
        _cost("query($n: Int!) { customers(first: $n) { nodes { name } } }", {"n": 500})


# The caller's budget


PRODUCTS = "{ products { code prices { currency } } }"  # cost 2


async def test_every_answer_reports_the_budget(api: Api, clock: FixedClock) -> None:
    first = await api.query(PRODUCTS)
    invalid = await api.query("{ nope }")

    reset_at = (clock.now() + timedelta(seconds=60)).isoformat()
    assert first["extensions"]["rateLimit"] == {
        "cost": 2,
        "limit": 50_000,
        "remaining": 49_998,
        "resetAt": reset_at,
    }
    assert invalid["extensions"]["rateLimit"] == {
        "cost": 0,
        "limit": 50_000,
        "remaining": 49_998,
        "resetAt": reset_at,
    }


async def test_a_caller_over_its_budget_is_refused_until_the_window_ends(
    api_with: AppFactory, db: AsyncSession, clock: FixedClock, sql_statements: StatementCounter
) -> None:
    api = await api_with(rate_limit_points=5, rate_limit_window_seconds=60)
    admin = await api_token(db, TokenKind.ADMIN)
    spent = [await api.query(PRODUCTS), await api.query(PRODUCTS)]
    assert [body["extensions"]["rateLimit"]["remaining"] for body in spent] == [3, 1]
    sql_statements.reset()

    refused = await api.query(PRODUCTS)

    assert _code(refused) == "RATE_LIMITED"
    assert refused["data"] is None
    reset_at = (clock.now() + timedelta(seconds=60)).isoformat()
    assert refused["errors"][0]["extensions"] == {
        "code": "RATE_LIMITED",
        "cost": 2,
        "resetAt": reset_at,
    }
    assert refused["extensions"]["rateLimit"] == {
        "cost": 2,
        "limit": 5,
        "remaining": 1,
        "resetAt": reset_at,
    }
    assert sql_statements.count == 0
    # Another principal has a budget of its own; the anonymous caller waits for the window.
    assert "errors" not in await api.query(PRODUCTS, token=admin)
    clock.advance(timedelta(seconds=60))
    again = await api.query(PRODUCTS)
    assert "errors" not in again
    assert again["extensions"]["rateLimit"]["remaining"] == 3


# Body size


async def test_a_ten_megabyte_body_is_refused_unread(
    api: Api, sql_statements: StatementCounter
) -> None:
    padding = "#" * (10 * 1024 * 1024)
    response = await api.client.post("/graphql", json={"query": "{ products { code } }" + padding})

    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"
    assert sql_statements.count == 0


async def test_a_streamed_body_is_cut_off_at_the_limit(
    api_with: AppFactory, sql_statements: StatementCounter
) -> None:
    api = await api_with(max_body_bytes=4096)

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"query": "{ products { code } }", "padding": "'
        for _ in range(10):
            yield b"x" * 1024
        yield b'"}'

    response = await api.client.post(
        "/graphql", content=chunks(), headers={"Content-Type": "application/json"}
    )

    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"
    assert sql_statements.count == 0


# Caches


async def test_a_repeated_query_is_parsed_and_validated_once(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    validations: list[object] = []
    rules_given: list[tuple[object, ...]] = []
    validate = strawberry_schema.validate

    def counting_validate(*args: Any, **kwargs: Any) -> Any:
        validations.append(args[1])
        rules_given.append(tuple(args[2]))
        return validate(*args, **kwargs)

    monkeypatch.setattr(strawberry_schema, "validate", counting_validate)
    parse_cache = ParserCache(maxsize=256).cached_parse_document
    query = "{ products { code name } } # cache test"
    before = parse_cache.cache_info()

    bodies = [await api.query(query) for _ in range(3)]

    after = parse_cache.cache_info()
    assert all("errors" not in body for body in bodies)
    assert (after.misses - before.misses, after.hits - before.hits) == (1, 2)
    # One validation step for the three requests: the fragment graph's two rules, then all.
    assert len(validations) == 2 and validations[0] is validations[1]
    # A document over the size limits reaches only the fragment graph's two rules, never
    # graphql-core's others; its refusal is cached too, and the same every time.
    measured: list[object] = []
    measure = validation.measure
    monkeypatch.setattr(
        validation, "measure", lambda document: measured.append(document) or measure(document)
    )
    deep = _nested_invoices(5)
    assert [_code(await api.query(deep)) for _ in range(2)] == ["QUERY_TOO_COMPLEX"] * 2
    assert len(validations) == 3 and validations[2] is not validations[0]
    assert set(validation.FRAGMENT_GRAPH_RULES) <= set(rules_given[2])
    assert OverlappingFieldsCanBeMergedRule not in rules_given[2]
    assert OverlappingFieldsCanBeMergedRule in rules_given[1]
    assert len(measured) == 1


async def test_cost_is_counted_per_request_from_the_cached_document(
    api: Api, db: AsyncSession
) -> None:
    admin = await api_token(db, TokenKind.ADMIN)
    query = "query($n: Int!) { customers(first: $n) { nodes { name } } }"

    costs = [
        (await api.query(query, {"n": n}, token=admin))["extensions"]["rateLimit"]["cost"]
        for n in (1, 50)
    ]

    assert costs == [2, 51]
