"""Fuzzing in the suite: schemathesis draws documents for every root Query and Mutation field
and each one runs, in-process against the ASGI app, as every principal of the demo world.
No answer may be a server error, a masked internal error, or a top-level error other than
those tests/fuzz/verdict.py lists. FUZZ_EXAMPLES sets the documents per root field."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
from graphql import get_introspection_query
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from app.clock import FixedClock
from app.config import Settings
from app.main import create_app
from app.providers.registry import build_providers
from app.runtime import build_runtime
from tests.fuzz.cases import FuzzCase, draw_cases, examples_per_operation, load_schema
from tests.fuzz.verdict import Finding, judge
from tests.fuzz.world import build_world
from tests.support.graphql import Api

ACCEPT = "application/graphql-response+json"


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 6, 1, 12, tzinfo=UTC))


@pytest.fixture
async def fuzz_client(
    settings: Settings, session_factory: async_sessionmaker[AsyncSession], clock: FixedClock
) -> AsyncIterator[httpx.AsyncClient]:
    # A budget no fuzz run spends, so RATE_LIMITED does not hide what comes after it.
    fuzz_settings = settings.model_copy(update={"rate_limit_points": 10**9})
    providers = build_providers(fuzz_settings, session_factory, clock)
    runtime = build_runtime(
        fuzz_settings, sessions=session_factory, clock=clock, providers=providers
    )
    transport = httpx.ASGITransport(app=create_app(runtime=runtime))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


async def _run(
    client: httpx.AsyncClient,
    connection: AsyncConnection,
    case: FuzzCase,
    principal: str,
    token: str | None,
) -> httpx.Response:
    """One request in a savepoint rolled back after it: every document meets the same world
    (a finding replays on its own), and PostgreSQL's locks do not pile up in the test's
    transaction over thousands of requests."""
    headers = {"Accept": ACCEPT}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    try:
        await connection.exec_driver_sql("SAVEPOINT fuzz_case")
        response = await client.post("/graphql", json={"query": case.query}, headers=headers)
        # Released too: a savepoint only rolled back to stays open, and the next one would
        # nest in it, each holding on to a transaction id lock.
        await connection.exec_driver_sql("ROLLBACK TO SAVEPOINT fuzz_case")
        await connection.exec_driver_sql("RELEASE SAVEPOINT fuzz_case")
    except Exception as exc:  # out of the app: a 500 from a server, and the test's
        # transaction is likely unusable after it, so the run stops here
        message = f"{case.operation} as {principal} raised out of the app:\n{case.query}"
        raise AssertionError(message) from exc
    return response


# Its requests grow with the root fields (about a minute on a loaded 2-core machine with
# this schema); under the 300 s thread backstop of pytest-timeout.
@pytest.mark.async_time_limit(240)
async def test_fuzzing_every_root_field_as_every_principal_finds_nothing(
    fuzz_client: httpx.AsyncClient,
    connection: AsyncConnection,
    db: AsyncSession,
    settings: Settings,
    clock: FixedClock,
) -> None:
    api = Api(fuzz_client)
    world = await build_world(db, api, settings, clock)
    # With `isOneOf`, so that the client schema tells which documents break @oneOf.
    introspection = await api.data(get_introspection_query(one_of=True))
    schema = load_schema(introspection, world.values)
    started = time.monotonic()
    cases = draw_cases(schema, examples_per_operation())
    drawn = time.monotonic()

    findings: list[Finding] = []
    answered: set[str] = set()  # root fields answered without any error at least once
    for case in cases:
        for principal, token in world.tokens.items():
            response = await _run(fuzz_client, connection, case, principal, token)
            findings.extend(judge(case, principal, response))
            if response.status_code == 200 and "errors" not in response.json():
                answered.add(case.operation)

    covered = {case.operation for case in cases}
    # What the run covered, for `pytest -s` and CI logs.
    print(  # noqa: T201
        f"\nfuzzed {len(covered)} root fields ({len(answered)} answered without errors), "
        f"{len(cases)} documents x {len(world.tokens)} principals = "
        f"{len(cases) * len(world.tokens)} requests "
        f"(drawn in {drawn - started:.1f}s, run in {time.monotonic() - drawn:.1f}s)"
    )
    assert covered == _root_fields(introspection)
    assert not findings, _summary(findings)


def _summary(findings: list[Finding]) -> str:
    kinds = Counter(f"{f.operation} as {f.principal}: {f.problem[:120]}" for f in findings)
    head = "\n".join(f"{count} x {kind}" for kind, count in kinds.most_common())
    return head + "\n\n" + "\n\n".join(str(finding) for finding in findings[:10])


def _root_fields(introspection: dict[str, object]) -> set[str]:
    types = introspection["__schema"]["types"]  # type: ignore[index]
    return {
        f"{kind['name']}.{field['name']}"
        for kind in types
        if kind["name"] in ("Query", "Mutation")
        for field in kind["fields"]
    }
