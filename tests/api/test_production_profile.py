"""ENVIRONMENT=production: no introspection, no GraphiQL, no "Did you mean" hints, masked
internal errors that carry the request id of their log line, no development secrets."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.clock import FixedClock
from app.config import Settings
from app.main import create_app
from app.providers.registry import build_providers
from app.runtime import build_runtime
from resolvers import catalog
from schema import limits
from schema.build import build_schema
from tests.api.conftest import StatementCounter
from tests.support.graphql import Api

SECRET = "x" * 40
LICENSE_KEY = (
    Ed25519PrivateKey.generate()
    .private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    .decode()
)


@pytest.fixture
def production_settings(database_url: str) -> Settings:
    return Settings(
        environment="production",
        jwt_secret=SECRET,
        license_signing_key=LICENSE_KEY,
        database_url=database_url,
    )


@pytest.fixture
async def prod(
    production_settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    clock: FixedClock,
) -> AsyncIterator[Api]:
    providers = build_providers(production_settings, session_factory, clock)
    runtime = build_runtime(
        production_settings, sessions=session_factory, clock=clock, providers=providers
    )
    transport = httpx.ASGITransport(app=create_app(runtime=runtime))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield Api(client)


def _messages(body: dict[str, Any]) -> list[str]:
    return [error["message"] for error in body.get("errors", [])]


async def test_introspection_is_refused(prod: Api, sql_statements: StatementCounter) -> None:
    schema = await prod.query("{ __schema { types { name } } }")
    one_type = await prod.query('{ __type(name: "Query") { fields { name } } }')

    for body in (schema, one_type):
        assert body["data"] is None
        assert "introspection has been disabled" in body["errors"][0]["message"]
    assert sql_statements.count == 0
    # __typename is not introspection of the schema; clients add it everywhere.
    assert await prod.data("{ __typename }") == {"__typename": "Query"}


async def test_introspection_works_in_development(api: Api) -> None:
    data = await api.data('{ __type(name: "Money") { fields { name } } }')

    assert [field["name"] for field in data["__type"]["fields"]] == [
        "amount",
        "currency",
        "formatted",
    ]


async def test_graphiql_is_off(prod: Api, api: Api) -> None:
    html = {"Accept": "text/html"}

    assert (await prod.client.get("/graphql", headers=html)).status_code == 404
    assert (await api.client.get("/graphql", headers=html)).status_code == 200
    # Nor its files: production serves no GraphiQL asset.
    asset = "/static/graphiql/graphiql-3.8.3.min.js"
    assert (await prod.client.get(asset)).status_code == 404
    assert (await api.client.get(asset)).status_code == 200


# What a schema-guessing tool (clairvoyance) sends with introspection off.
PROBES = [
    "{ prodcts { code } }",  # a misspelt root field
    "{ products { seats } }",  # a field of another type
    '{ subscription(number: "A-S1") { seatz } }',  # a misspelt field close to a real one
    "{ customer { name } }",  # a required argument left out
    "{ products(tgs: []) { code } }",  # a misspelt argument
    "{ ...X } fragment X on Subscriptoin { number }",  # a fragment on an unknown type
    "{ invoices(filter: { status: [PAYED] }) { nodes { number } } }",  # a misspelt enum value
    "query($f: InvoiceFiltr) { invoices(filter: $f) { nodes { number } } }",
    "{ products }",  # a selection left out
]
_NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]*")


def _schema_names() -> set[str]:
    names: set[str] = set()
    for type_ in build_schema()._schema.type_map.values():
        names.add(type_.name)
        for field in getattr(type_, "fields", {}).values():
            names.update(getattr(field, "args", {}))
        names.update(getattr(type_, "fields", {}))
        names.update(getattr(type_, "values", {}))
    return {name for name in names if not name.startswith("__")}


SCHEMA_NAMES = _schema_names()


def _disclosed(message: str, request: str) -> set[str]:
    """Schema names in the message that the request itself does not contain."""
    asked = set(_NAME.findall(request))
    return {name for name in _NAME.findall(message) if name in SCHEMA_NAMES - asked}


@pytest.mark.parametrize("query", PROBES)
async def test_validation_errors_name_nothing_the_request_did_not(
    prod: Api, api: Api, query: str
) -> None:
    production = (await prod.query(query))["errors"]
    development = (await api.query(query))["errors"]

    assert production and len(production) == len(development)
    for hidden, helpful in zip(production, development, strict=True):
        assert _disclosed(hidden["message"], query) == set(), hidden
        assert hidden["message"] == "The document is not valid for this API."
        assert hidden["extensions"] == helpful["extensions"] == {"code": "VALIDATION"}
        assert hidden["locations"] == helpful["locations"]
        assert _disclosed(helpful["message"], query), helpful  # development helps


async def test_a_variable_error_names_nothing_the_request_did_not(prod: Api, api: Api) -> None:
    query = "mutation ($input: OrderInput!) { orderQuote(input: $input) { __typename } }"
    variables = {"input": {"subscriptionId": "x"}}

    [hidden] = (await prod.query(query, variables))["errors"]
    [helpful] = (await api.query(query, variables))["errors"]

    assert hidden["message"] == "Variable '$input' has invalid value."
    assert hidden["extensions"] == helpful["extensions"] == {"code": "VALIDATION"}
    assert _disclosed(helpful["message"], query + str(variables)), helpful


async def test_guesses_in_a_variable_value_or_a_comment_confirm_no_name(prod: Api) -> None:
    """A string value (or a comment) listing guesses made the message name the required
    input field it held ('actions'): only names the request used as names count as sent."""
    guesses = "actions subscriptionId OrderActionInput ID String Int"
    query = "mutation ($input: OrderInput!) { orderQuote(input: $input) { __typename } }"
    query += f" # {guesses}"
    variables = {"input": {"subscriptionIdx": guesses}}

    errors = (await prod.query(query, variables))["errors"]

    assert [e["message"] for e in errors] == ["Variable '$input' has invalid value."] * 2
    assert {e["extensions"]["code"] for e in errors} == {"VALIDATION"}


async def test_a_variable_with_a_misspelt_enum_value_gives_no_suggestion(prod: Api) -> None:
    query = "query($s: [InvoiceStatus!]) { invoices(filter: { status: $s }) { nodes { number } } }"

    body = await prod.query(query, {"s": ["PAYED"]})

    assert body["errors"], body
    assert not any("Did you mean" in message for message in _messages(body))


async def test_an_internal_error_is_masked_with_the_request_id_of_its_log_line(
    prod: Api, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(*args: object) -> None:
        raise RuntimeError("database password is hunter2")

    monkeypatch.setattr(catalog, "products", broken)

    with caplog.at_level(logging.ERROR, logger="fulfillment.graphql"):
        response = await prod.client.post(
            "/graphql",
            json={"query": "{ products { code } }"},
            headers={"X-Request-ID": "req-42.abc"},
        )

    body = response.json()
    assert response.status_code == 200
    assert response.headers["X-Request-ID"] == "req-42.abc"
    assert body["data"] is None
    assert body["errors"] == [
        {
            "message": "Unexpected error.",
            "locations": [{"line": 1, "column": 3}],
            "path": ["products"],
            "extensions": {"code": "INTERNAL", "requestId": "req-42.abc"},
        }
    ]
    assert "hunter2" not in response.text
    [record] = [r for r in caplog.records if r.name == "fulfillment.graphql"]
    assert "req-42.abc" in record.getMessage()
    assert "hunter2" in record.getMessage()
    assert record.exc_info is not None and record.exc_info[0] is RuntimeError


async def test_the_request_id_is_made_up_when_missing_or_unsafe(
    prod: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*args: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(catalog, "products", broken)
    query = {"query": "{ products { code } }"}

    for headers in ({}, {"X-Request-ID": "forged\nline"}, {"X-Request-ID": "x" * 500}):
        response = await prod.client.post("/graphql", json=query, headers=headers)
        request_id = response.headers["X-Request-ID"]
        assert len(request_id) == 32 and request_id.isalnum()
        assert response.json()["errors"][0]["extensions"]["requestId"] == request_id


def test_development_secrets_are_refused_at_start_up(database_url: str) -> None:
    with pytest.raises(ValidationError, match="JWT_SECRET must be set to a real secret"):
        Settings(environment="production", database_url=database_url)
    with pytest.raises(ValidationError, match="at least 32 characters"):
        Settings(environment="production", jwt_secret="short", database_url=database_url)
    assert Settings(
        environment="production", jwt_secret=SECRET, license_signing_key=LICENSE_KEY
    ).is_production


async def test_a_bug_in_the_limits_is_masked_too(
    prod: Api, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*args: object) -> int:
        raise KeyError("internal detail")

    monkeypatch.setattr(limits, "operation_cost", broken)

    with caplog.at_level(logging.ERROR, logger="fulfillment.graphql"):
        response = await prod.client.post(
            "/graphql",
            json={"query": "{ products { code } }"},
            headers={"Accept": "application/graphql-response+json"},
        )

    request_id = response.headers["X-Request-ID"]
    assert response.status_code == 500
    assert response.json()["errors"] == [
        {
            "message": "Unexpected error.",
            "extensions": {"code": "INTERNAL", "requestId": request_id},
        }
    ]
    assert "internal detail" not in response.text
    assert any(request_id in record.getMessage() for record in caplog.records)
