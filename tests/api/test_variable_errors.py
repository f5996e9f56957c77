"""Variables that do not fit their declared type are request errors (schema.request_values):
code VALIDATION with graphql-core's message, HTTP 400 without `data` under
application/graphql-response+json and 200 with `data: null` under application/json (GraphQL
over HTTP), nothing spent from the budget, and no traceback in the log. They were masked as
INTERNAL ("Unexpected error.") and logged as bugs."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest

from tests.api.conftest import StatementCounter
from tests.support.graphql import Api

GRAPHQL_RESPONSE = "application/graphql-response+json"
FIRST = "query ($n: Int!) { customers(first: $n) { nodes { name } } }"
REPORT = """mutation ($users: Int!) {
  seatUsageReport(deployment: "ns-x", billableUsers: $users, reportedAt: "2026-06-01T08:00:00Z") {
    __typename
  }
}"""
FILTER = "query ($f: InvoiceFilter) { invoices(filter: $f) { nodes { number } } }"
STATUS = "query ($s: [InvoiceStatus!]) { invoices(filter: { status: $s }) { nodes { number } } }"
SINCE = "query ($d: DateTime) { auditEvents(filter: { occurredFrom: $d }) { nodes { id } } }"

CASES: dict[str, tuple[str, dict[str, Any], str]] = {
    "missing": (
        FIRST,
        {},
        "Variable '$n' has invalid value: Expected a value of non-null type 'Int!' to be provided.",
    ),
    "wrong type": (
        FIRST,
        {"n": "ten"},
        "Variable '$n' has invalid value: Int cannot represent non-integer value: 'ten'",
    ),
    "Int over 2^31": (
        REPORT,
        {"users": 2**31},
        "Variable '$users' has invalid value: "
        "Int cannot represent non 32-bit signed integer value: 2147483648",
    ),
    "unknown input field": (
        FILTER,
        {"f": {"stauts": ["PAID"]}},
        "Variable '$f' has invalid value: Expected value of type 'InvoiceFilter' not to "
        "include unknown field 'stauts'. Did you mean 'status'? Found: {'stauts': ['PAID']}.",
    ),
    "bad enum": (
        STATUS,
        {"s": ["PAYED"]},
        "Variable '$s' has invalid value at [0]: Value 'PAYED' does not exist in "
        "'InvoiceStatus' enum. Did you mean the enum value 'PAID'?",
    ),
    "bad DateTime": (
        SINCE,
        {"d": "yesterday"},
        "Variable '$d' has invalid value: Value cannot represent a DateTime: \"yesterday\". "
        "Expected 4 digits, got 'yest'",
    ),
}


async def _post(api: Api, query: str, variables: dict[str, Any], accept: str) -> httpx.Response:
    body = {"query": query, "variables": variables}
    return await api.client.post("/graphql", json=body, headers={"Accept": accept})


def _tracebacks(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


@pytest.mark.parametrize("case", CASES)
async def test_a_bad_variable_is_a_request_error(
    api: Api,
    sql_statements: StatementCounter,
    caplog: pytest.LogCaptureFixture,
    case: str,
) -> None:
    query, variables, message = CASES[case]
    sql_statements.reset()

    with caplog.at_level(logging.INFO):
        strict = await _post(api, query, variables, GRAPHQL_RESPONSE)
        plain = await _post(api, query, variables, "application/json")

    assert strict.status_code == 400
    assert "data" not in strict.json()
    assert plain.status_code == 200
    assert plain.json()["data"] is None
    for response in (strict, plain):
        body = response.json()
        assert body["errors"] == [
            {
                "message": message,
                "locations": [{"line": 1, "column": 8 if query.startswith("query") else 11}],
                "extensions": {"code": "VALIDATION"},
            }
        ]
        assert body["extensions"]["rateLimit"]["cost"] == 0
        assert body["extensions"]["rateLimit"]["remaining"] == 50_000
    assert _tracebacks(caplog) == []
    assert sql_statements.count == 0  # nothing ran (anonymous: no token to look up either)


async def test_every_bad_variable_is_reported_at_once(api: Api) -> None:
    query = (
        "query ($a: Int!, $b: Boolean!) "
        "{ customers(first: $a) { nodes { name } } products @include(if: $b) { code } }"
    )
    body = (await _post(api, query, {"a": "x", "b": 3}, "application/json")).json()

    assert [e["message"].split(":")[0] for e in body["errors"]] == [
        "Variable '$a' has invalid value",
        "Variable '$b' has invalid value",
    ]
