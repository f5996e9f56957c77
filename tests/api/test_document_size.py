"""The expanded size of a document is bounded before validation walks it (schema.document_size).

The audit's fragment explosion (each fragment spreads the previous one twice, 2^k fields
once expanded) froze a server: strawberry's depth and alias rules re-walked every spread.
Wide documents (one field repeated hundreds of times, hundreds of fragments selecting the
same field) cost graphql-core's OverlappingFieldsCanBeMerged seconds, within the token
limit. Each is now refused with QUERY_TOO_COMPLEX in milliseconds, for every principal, on
the request path and in `fulfillment documents register`.

Without the bound these requests do not finish (2^30 steps), so each runs under `deadline`,
which interrupts the test's own thread instead of letting it hang.
"""

from __future__ import annotations

import asyncio
import gc
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.domain.enums import TokenKind
from schema.document_files import DocumentChecker
from tests.scaling.server import serving
from tests.support import factories as f
from tests.support.graphql import Api, api_token, user_token

LIMIT_MS = 100
# A wide document is near the 2000-token limit: parsing it alone takes tens of ms of CPU on
# a loaded machine. Without the bound each took from 0.5 s to several seconds.
WIDE_LIMIT_MS = 250


class Deadline(BaseException):
    """Not an Exception: nothing on the request path may catch it and answer instead."""


@contextmanager
def deadline(seconds: float) -> Iterator[None]:
    def expire(signum: int, frame: FrameType | None) -> None:
        raise Deadline(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def bomb(levels: int) -> str:
    lines = [f"query {{ ...F{levels} }}", "fragment F0 on Query { __typename }"]
    lines += [f"fragment F{i} on Query {{ ...F{i - 1} ...F{i - 1} }}" for i in range(1, levels + 1)]
    return "\n".join(lines)


def repeated_field(times: int) -> str:
    return "{ " + " ".join("products { code }" for _ in range(times)) + " }"


def same_field_in_many_fragments(count: int) -> str:
    spreads = " ".join(f"...F{i}" for i in range(count))
    fragments = "\n".join(
        f"fragment F{i} on Query {{ products {{ code code }} }}" for i in range(count)
    )
    return f"{{ {spreads} }}\n{fragments}"


def one_fragment_spread_many_times(count: int) -> str:
    spreads = " ".join("...A" for _ in range(count))
    return f"{{ {spreads} }} fragment A on Query {{ products {{ code name tags }} }}"


WIDE = {
    "one field 490 times": repeated_field(490),
    "the same field in 150 fragments": same_field_in_many_fragments(150),
    "one fragment spread 600 times": one_fragment_spread_many_times(600),
}


async def _principal_tokens(db: AsyncSession, settings: Settings) -> dict[str, str | None]:
    customer = await f.customer(db)
    partner = await f.partner(db)
    return {
        "anonymous": None,
        "customer user": user_token(settings, await f.user(db, customer)),
        "partner": await api_token(db, TokenKind.PARTNER, partner.id),
        "admin": await api_token(db, TokenKind.ADMIN),
        "product service": await api_token(db, TokenKind.SERVICE),
    }


async def _timed(api: Api, query: str, token: str | None) -> tuple[dict[str, Any], float]:
    """The answer and the CPU time this process spent on it (other processes' load on a
    shared machine does not count). Collected first, so that a collection of the whole test
    session's heap does not land in the measurement."""
    gc.collect()
    began = time.process_time()
    with deadline(5):
        response = await api.post(query, token=token)
    elapsed_ms = (time.process_time() - began) * 1000
    body: dict[str, Any] = response.json()
    return body, elapsed_ms


async def test_a_thirty_level_fragment_bomb_is_refused_at_once_for_every_principal(
    api: Api, db: AsyncSession, settings: Settings
) -> None:
    tokens = await _principal_tokens(db, settings)
    query = bomb(30)
    assert len(query) < 1300
    for principal, token in tokens.items():
        body, elapsed_ms = await _timed(api, query, token)

        assert elapsed_ms < LIMIT_MS, (principal, elapsed_ms)
        assert body["data"] is None
        [error] = body["errors"]
        assert error["extensions"] == {"code": "QUERY_TOO_COMPLEX"}, principal
        assert error["message"] == (
            f"This document selects {3 * 2**30 - 1} fields once its fragments are spread; "
            "the most allowed is 2000."
        )
        assert body["extensions"]["rateLimit"]["cost"] == 0  # nothing spent


@pytest.mark.parametrize("shape", WIDE)
async def test_wide_documents_within_the_token_limit_are_refused_at_once(
    api: Api, db: AsyncSession, shape: str
) -> None:
    admin = await api_token(db, TokenKind.ADMIN)

    body, elapsed_ms = await _timed(api, WIDE[shape], admin)

    assert elapsed_ms < WIDE_LIMIT_MS, elapsed_ms
    assert body["data"] is None
    [error] = body["errors"]
    assert error["extensions"] == {"code": "QUERY_TOO_COMPLEX"}
    assert "the most allowed is" in error["message"]


async def test_a_document_under_the_bounds_still_runs(api: Api) -> None:
    # A field repeated a few times at one place and a fragment spread twice: what clients do.
    query = (
        "{ products { code } products { code name } ...A ...A }"
        " fragment A on Query { products { code } }"
    )

    assert "errors" not in await api.query(query)


async def test_an_unknown_fragment_is_a_validation_error_not_a_crash(api: Api) -> None:
    body = await api.query("{ ...Nope }")

    assert body["errors"] == [
        {
            "message": "Unknown fragment 'Nope'.",
            "locations": [{"line": 1, "column": 6}],
            "extensions": {"code": "VALIDATION"},
        }
    ]


def test_registering_a_bomb_is_refused_as_fast(settings: Settings) -> None:
    checker = DocumentChecker(settings)
    gc.collect()
    began = time.process_time()
    with deadline(5):
        problems = [checker.problems(text) for text in (bomb(30), *WIDE.values())]
    elapsed_ms = (time.process_time() - began) * 1000

    assert elapsed_ms < LIMIT_MS + len(WIDE) * WIDE_LIMIT_MS
    assert all(len(found) == 1 and "the most allowed is" in found[0] for found in problems)


async def test_healthz_answers_while_bombs_are_refused(tmp_path: Path) -> None:
    """A real server (`fulfillment serve`, production profile): bombs sent on several
    connections at once are refused while /healthz keeps answering. Without the bound the
    first bomb holds the event loop and /healthz times out."""
    env = {
        "ENVIRONMENT": "production",
        "JWT_SECRET": "s" * 40,
        "LICENSE_SIGNING_KEY": _license_key(),
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'unused.db'}",
    }
    log = tmp_path / "server.log"
    async with (
        serving([], env, log) as server,
        httpx.AsyncClient(base_url=server.url, timeout=2.0) as client,
    ):

        async def refuse_bomb() -> dict[str, Any]:
            response = await client.post("/graphql", json={"query": bomb(30)})
            body: dict[str, Any] = response.json()
            return body

        async def health() -> float:
            await asyncio.sleep(0.01)
            began = time.perf_counter()
            assert (await client.get("/healthz")).json() == {"status": "ok"}
            return time.perf_counter() - began

        answers = await asyncio.gather(
            *(refuse_bomb() for _ in range(8)), *(health() for _ in range(4))
        )

    bodies, pauses = answers[:8], answers[8:]
    assert all(b["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX" for b in bodies)
    assert max(pauses) < 1.0, pauses


def _license_key() -> str:
    key = Ed25519PrivateKey.generate()
    return key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode()


def bomb_of_nothing(levels: int) -> str:
    """The bomb ending in an unknown fragment: 0 fields once expanded, 2^k spreads."""
    return bomb(levels).replace(
        "fragment F0 on Query { __typename }", "fragment F0 on Query { ...Nowhere }"
    )


def fragments_spreading_each_other(count: int) -> str:
    """Every fragment spreads every other: the cycles' paths number count!."""
    fragments = "\n".join(
        f"fragment F{i} on Query {{ __typename "
        + " ".join(f"...F{j}" for j in range(count) if j != i)
        + " }"
        for i in range(count)
    )
    return "query { ...F0 }\n" + fragments


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (bomb_of_nothing(30), "Unknown fragment 'Nowhere'."),
        (fragments_spreading_each_other(10), "Cannot spread fragment 'F0' within itself via"),
    ],
    ids=["a bomb ending in an unknown fragment", "ten fragments spreading one another"],
)
async def test_unknown_and_cyclic_spreads_are_refused_before_the_size_walk(
    api: Api, query: str, message: str
) -> None:
    """Their expanded size counts nothing, so it bounded nothing: the walk of repeated
    selections took minutes (2^30 spreads, 10! paths) before any rule ran."""
    body, elapsed_ms = await _timed(api, query, None)

    assert elapsed_ms < LIMIT_MS, elapsed_ms
    assert body["data"] is None
    assert body["errors"][0]["message"].startswith(message)
    assert {error["extensions"]["code"] for error in body["errors"]} == {"VALIDATION"}
