"""LOG_FORMAT=json: one JSON object per line; a request's lines carry its request id (the
one its response header has) and operation, from the service code down; no token appears."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import LogFormat, Settings
from app.db.tables import PortalUser
from app.observability.logs import log_handler, redacted
from resolvers import catalog
from tests.support import factories as f
from tests.support.graphql import Api, user_token

PRODUCTS = "query Products { products { code } }"


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """What the JSON handler on the root logger writes, with the app's loggers at INFO."""
    stream = io.StringIO()
    handler = log_handler(LogFormat.JSON, stream)
    root, ours = logging.getLogger(), logging.getLogger("fulfillment")
    level = ours.level
    root.addHandler(handler)
    ours.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        ours.setLevel(level)


def _lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in stream.getvalue().splitlines()]


async def _token(db: AsyncSession, settings: Settings) -> str:
    user: PortalUser = await f.user(db, member_of=await f.customer(db, name="Acme"))
    return user_token(settings, user)


async def test_a_requests_line_has_its_request_id_and_operation(
    api: Api, db: AsyncSession, settings: Settings, log_lines: io.StringIO
) -> None:
    token = await _token(db, settings)
    given = await api.client.post(
        "/graphql",
        json={"query": PRODUCTS},
        headers={"Authorization": f"Bearer {token}", "X-Request-ID": "client-req.42"},
    )
    made_up = await api.client.post(
        "/graphql", json={"query": PRODUCTS}, headers={"X-Request-ID": "has spaces\tand tabs"}
    )

    assert given.headers["x-request-id"] == "client-req.42"
    assert made_up.headers["x-request-id"] not in ("", "has spaces\tand tabs")
    lines = [line for line in _lines(log_lines) if line["logger"] == "fulfillment.requests"]
    assert [(line["request_id"], line["operation"]) for line in lines] == [
        ("client-req.42", "Products"),
        (made_up.headers["x-request-id"], "Products"),
    ]
    for line in lines:
        assert line["level"] == "INFO"
        assert line["message"].startswith("graphql query 200 ok in ")
        assert set(line) == {"time", "level", "logger", "message", "request_id", "operation"}
    assert token not in log_lines.getvalue()
    assert "Bearer" not in log_lines.getvalue()


async def test_an_error_logged_below_the_edge_carries_the_request_id_and_no_token(
    api: Api, log_lines: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*args: object) -> None:
        raise RuntimeError("upstream said: Authorization: Bearer sk_live_leaked123")

    monkeypatch.setattr(catalog, "products", broken)
    response = await api.client.post(
        "/graphql", json={"query": PRODUCTS}, headers={"X-Request-ID": "req-7"}
    )

    assert response.json()["errors"][0]["extensions"]["code"] == "INTERNAL"
    [error] = [line for line in _lines(log_lines) if line["level"] == "ERROR"]
    assert (error["logger"], error["request_id"], error["operation"]) == (
        "fulfillment.graphql",
        "req-7",
        "Products",
    )
    assert "RuntimeError" in error["exception"]
    assert "sk_live_leaked123" not in log_lines.getvalue()
    assert "Bearer [redacted]" in error["message"]


def test_bearer_tokens_are_blanked_wherever_they_are() -> None:
    assert redacted("auth=Bearer abc.def-ghi, next") == "auth=Bearer [redacted], next"
    assert redacted('{"authorization": "bearer xyz"}') == '{"authorization": "bearer [redacted]"}'
    assert redacted("no token here") == "no token here"
