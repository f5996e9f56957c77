"""Arguments the fuzz test (tests/fuzz/) found answered with a masked internal error: ids and
cursors whose key is not a BIGINT of ASCII digits, and text with a NUL character (which
PostgreSQL cannot hold). Each now gets its typed answer, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import orjson
import pytest
import sqlalchemy as sa
from graphql import OperationDefinitionNode, parse
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.tables import AuditEvent, Subscription
from app.domain.enums import TokenKind
from schema import request_values
from tests.api.conftest import StatementCounter
from tests.support import factories as f
from tests.support.graphql import Api, api_token, error_codes

GRAPHQL_RESPONSE = {"Accept": "application/graphql-response+json"}


def _encoded(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.mark.parametrize("key", ["99999999999999999999", "9223372036854775808", "\u00b2"])
async def test_a_cursor_past_a_bigint_or_with_a_non_ascii_digit_is_not_a_cursor(
    db: AsyncSession, api: Api, key: str
) -> None:
    admin = await api_token(db, TokenKind.ADMIN)
    await f.subscription(db, await f.customer(db))
    for field in ("subscriptions", "customers", "invoices", "auditEvents"):
        body = await api.query(
            f"query ($after: String) {{ {field}(first: 1, after: $after) {{ nodes {{ id }} }} }}",
            {"after": _encoded(f"cursor:{key}")},
            admin,
        )
        assert error_codes(body) == ["VALIDATION"], (field, body)
        assert body["errors"][0]["message"] == "`after` is not a cursor from this API."


@pytest.mark.parametrize("digits", ["past a bigint", "superscript", "arabic-indic"])
async def test_an_id_whose_key_is_not_ascii_digits_of_a_bigint_reads_as_null(
    db: AsyncSession, api: Api, digits: str
) -> None:
    admin = await api_token(db, TokenKind.ADMIN)
    sub = await f.subscription(db, await f.customer(db))
    key = {
        "past a bigint": "99999999999999999999",
        "superscript": "\u00b2",  # a digit to str.isdigit, not to int(): was INTERNAL
        # The subscription's own key in other digits: int() reads them, the API must not.
        "arabic-indic": "".join(chr(0x0660 + int(d)) for d in str(sub.id)),
    }[digits]
    body = await api.query(
        "query ($id: ID!) { node(id: $id) { id } subscription(id: $id) { id } }",
        {"id": _encoded(f"Subscription:{key}")},
        admin,
    )
    assert "errors" not in body
    assert body["data"] == {"node": None, "subscription": None}


async def test_text_with_a_nul_character_is_refused_before_anything_runs(
    db: AsyncSession, api: Api
) -> None:
    admin = await api_token(db, TokenKind.ADMIN)
    sub = await f.subscription(db, await f.customer(db), auto_renew=True)
    audit_before = await db.scalar(sa.select(sa.func.count()).select_from(AuditEvent))
    mutation = """mutation ($id: ID!, $reason: String) {
      subscriptionSetAutoRenew(id: $id, autoRenew: false, reason: $reason) { __typename }
    }"""
    sub_id = _encoded(f"Subscription:{sub.id}")

    as_variable = await api.client.post(
        "/graphql",
        json={"query": mutation, "variables": {"id": sub_id, "reason": "tidy\x00up"}},
        headers={"Authorization": f"Bearer {admin}", **GRAPHQL_RESPONSE},
    )
    in_the_document = await api.client.post(
        "/graphql",
        json={"query": '{ subscription(number: "A-S\\u0000") { id } }'},
        headers={"Authorization": f"Bearer {admin}", **GRAPHQL_RESPONSE},
    )

    for response in (as_variable, in_the_document):
        assert response.status_code == 400
        assert response.json()["errors"] == [
            {
                "message": "Text may not contain the NUL character (U+0000).",
                "extensions": {"code": "VALIDATION"},
            }
        ]
    await db.refresh(sub)
    assert sub.auto_renew is True
    assert await db.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) == audit_before


async def test_an_escaped_character_other_than_nul_still_runs(db: AsyncSession, api: Api) -> None:
    admin = await api_token(db, TokenKind.ADMIN)
    sub = await f.subscription(db, await f.customer(db))
    number = sub.number.replace("-", "\\u002D")
    body = await api.data(f'{{ subscription(number: "{number}") {{ number }} }}', token=admin)
    assert body == {"subscription": {"number": sub.number}}
    assert await db.get(Subscription, sub.id) is not None


# Text lengths (schema.request_values): a 0.9 MB search string reached SQLite as a LIKE
# pattern it refuses, and came back INTERNAL.

SEARCH = "query ($q: String) { customers(first: 5, search: $q) { nodes { name } } }"


def _beyond_authentication(statements: list[str]) -> list[str]:
    return [s for s in statements if "api_token" not in s and "SAVEPOINT" not in s]


async def test_a_search_longer_than_200_characters_is_refused_before_anything_runs(
    db: AsyncSession, api: Api, sql_statements: StatementCounter
) -> None:
    admin = await api_token(db, TokenKind.ADMIN)
    headers = {"Authorization": f"Bearer {admin}", **GRAPHQL_RESPONSE}
    sql_statements.reset()

    as_variable = await api.client.post(
        "/graphql", json={"query": SEARCH, "variables": {"q": "a" * 900_000}}, headers=headers
    )
    literal = '{ customers(search: "' + "b" * 201 + '") { nodes { name } } }'
    in_the_document = await api.client.post("/graphql", json={"query": literal}, headers=headers)

    for response, column in ((as_variable, 42), (in_the_document, 13)):
        assert response.status_code == 400
        assert response.json()["errors"] == [
            {
                "message": "`search` may be at most 200 characters long.",
                "locations": [{"line": 1, "column": column}],
                "extensions": {"code": "VALIDATION"},
            }
        ]
    assert _beyond_authentication(sql_statements.statements) == []
    ok = await api.query(SEARCH, {"q": "c" * 200}, admin)
    assert "errors" not in ok and ok["data"] == {"customers": {"nodes": []}}


async def test_other_text_is_bounded_too_and_the_body_beyond_that(
    db: AsyncSession, api: Api
) -> None:
    admin = await api_token(db, TokenKind.ADMIN)
    sub = await f.subscription(db, await f.customer(db), auto_renew=True)
    number = "query ($n: String) { subscription(number: $n) { id } }"
    mutation = """mutation ($id: ID!, $reason: String) {
      subscriptionSetAutoRenew(id: $id, autoRenew: false, reason: $reason) { __typename }
    }"""

    long_number = await api.query(number, {"n": "9" * 1001}, admin)
    long_reason = await api.query(
        mutation, {"id": _encoded(f"Subscription:{sub.id}"), "reason": "r" * 16_385}, admin
    )
    too_big = await api.client.post(
        "/graphql",
        json={"query": SEARCH, "variables": {"q": "a" * (1024 * 1024)}},
        headers={"Authorization": f"Bearer {admin}"},
    )

    assert [e["message"] for e in long_number["errors"]] == [
        "`number` may be at most 1000 characters long."
    ]
    assert [e["message"] for e in long_reason["errors"]] == [
        "`reason` may be at most 16384 characters long."
    ]
    assert error_codes(long_number) == error_codes(long_reason) == ["VALIDATION"]
    await db.refresh(sub)
    assert sub.auto_renew is True
    assert too_big.status_code == 413


def test_a_variable_used_by_many_arguments_is_measured_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A 1 MB list variable spread on 80 arguments was walked once per argument (1.5 s of CPU
    for one request); its texts are now measured once, and the limit still holds everywhere."""
    walked: list[object] = []
    strings = request_values._strings

    def counted(value: object) -> Iterator[str]:
        walked.append(value)
        return strings(value)

    monkeypatch.setattr(request_values, "_strings", counted)
    uses = " ".join(f"q{i}: products(tags: $v) {{ code }}" for i in range(3))
    document = parse(f'query ($v: [String!]) {{ {uses} last: products(tags: ["x"]) {{ code }} }}')
    [operation] = document.definitions
    assert isinstance(operation, OperationDefinitionNode)

    fine = request_values.text_too_long(document, operation, {"v": ["a", "b" * 1000]})
    too_long = request_values.text_too_long(document, operation, {"v": ["a", "b" * 1001]})

    assert fine is None
    assert too_long is not None
    assert too_long.message == "`tags` may be at most 1000 characters long."
    assert len(walked) == 2 * 3  # per request: the list and its two strings, once


def _nested(depth: int, innermost: str) -> bytes:
    """A request whose variable `junk` is `innermost` in lists and objects `depth` deep (as
    text: Python's JSON encoders stop short of that depth)."""
    opening, closing = '[{"k":' * (depth // 2), "}]" * (depth // 2)
    junk = f"{opening}{orjson.dumps(innermost).decode()}{closing}"
    return f'{{"query": "{{ __typename }}", "variables": {{"junk": {junk}}}}}'.encode()


async def test_a_variable_nested_a_thousand_deep_is_checked_not_a_recursion_error(
    api: Api,
) -> None:
    """Any variable, even one the operation does not declare, was walked recursively for a
    NUL: 500 levels answered "maximum recursion depth exceeded" and logged its traceback."""
    json = {"Content-Type": "application/json"}
    clean = await api.client.post("/graphql", content=_nested(1000, "x"), headers=json)
    with_nul = await api.client.post("/graphql", content=_nested(1000, "a\x00b"), headers=json)

    assert clean.json()["data"] == {"__typename": "Query"}
    assert "errors" not in clean.json()
    assert with_nul.json()["errors"] == [
        {
            "message": "Text may not contain the NUL character (U+0000).",
            "extensions": {"code": "VALIDATION"},
        }
    ]
