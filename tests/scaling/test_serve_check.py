"""What `fulfillment serve` checks before it starts worker processes, and the per-process
pool every engine gets. The PostgreSQL cases run when TEST_DATABASE_URL is PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time

import pytest
import sqlalchemy as sa
from pydantic import ValidationError

from app.config import Settings
from app.db.engine import PoolLimits, create_engine
from app.serve_check import (
    ServePlan,
    ServeRefused,
    check_connection_limit,
    plan_serve,
    preflight,
    read_connection_limit,
)
from tests.scaling.server import ROOT, free_port

POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:5432/app"
needs_postgresql = pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql"),
    reason="needs PostgreSQL (TEST_DATABASE_URL)",
)


def postgres(**overrides: object) -> Settings:
    return Settings(environment="test", database_url=POSTGRES, **overrides)


def test_sqlite_serves_one_worker_and_refuses_more() -> None:
    sqlite = Settings(environment="test", database_url="sqlite+aiosqlite:///./x.db")

    assert plan_serve(sqlite, 1).describe() == "1 worker process on SQLite"
    with pytest.raises(ServeRefused, match=r"^SQLite serves one process: .* --workers 1\.$"):
        plan_serve(sqlite, 2)


def test_the_test_clock_and_zero_workers_are_refused() -> None:
    with pytest.raises(ServeRefused, match="TEST_CLOCK keeps its offset in each process"):
        plan_serve(postgres(test_clock=True), 2)
    assert plan_serve(postgres(test_clock=True), 1).workers == 1
    with pytest.raises(ServeRefused, match="--workers must be at least 1"):
        plan_serve(postgres(), 0)


def test_the_pools_of_all_workers_must_fit_in_postgresql() -> None:
    plan = plan_serve(postgres(database_pool_size=4, database_max_overflow=6), 3)
    assert plan.pool == PoolLimits(size=4, overflow=6, timeout=10.0)
    assert plan.max_connections == 30

    assert check_connection_limit(plan, 30).describe() == (
        "3 worker processes, pool 4 + overflow 6 = 10 connections per process, 10 s wait for "
        "a free one: at most 30 in all, of the 30 PostgreSQL allows; leave room for "
        "`fulfillment worker` processes, migrations and other replicas"
    )
    with pytest.raises(ServeRefused) as refused:
        check_connection_limit(plan, 29)
    assert str(refused.value) == (
        "3 worker processes x 10 connections (pool 4 + overflow 6) = 30, more than the 29 "
        "PostgreSQL allows. Lower --workers, DATABASE_POOL_SIZE or DATABASE_MAX_OVERFLOW, or "
        "raise PostgreSQL's max_connections."
    )
    unknown = check_connection_limit(plan, None)
    assert unknown == ServePlan(3, plan.pool, None)
    assert unknown.describe().endswith("at most 30 in all (PostgreSQL's max_connections not read)")


def test_pool_settings_are_validated() -> None:
    with pytest.raises(ValidationError, match="database_max_overflow"):
        postgres(database_max_overflow=-1)
    with pytest.raises(ValidationError, match="database_pool_timeout"):
        postgres(database_pool_timeout=0)
    with pytest.raises(ValidationError, match="database_pool_size"):
        postgres(database_pool_size=0)


async def test_each_engine_gets_the_configured_pool() -> None:
    engine = create_engine(
        postgres(database_pool_size=3, database_max_overflow=0, database_pool_timeout=4)
    )
    try:
        assert (engine.pool.size(), engine.pool.timeout()) == (3, 4.0)  # type: ignore[attr-defined]
    finally:
        await engine.dispose()


def test_the_command_refuses_several_workers_on_sqlite() -> None:
    env = {**os.environ, "DATABASE_URL": "sqlite+aiosqlite:///./never-created.db"}
    port = str(free_port())

    done = subprocess.run(
        [sys.executable, "-m", "app.cli", "serve", "--workers", "2", "--port", port],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )

    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.startswith("fulfillment serve: SQLite serves one process:")
    assert not (ROOT / "never-created.db").exists()


@needs_postgresql
async def test_a_full_pool_makes_the_next_request_wait_then_fail(database_url: str) -> None:
    settings = Settings(
        environment="test",
        database_url=database_url,
        database_pool_size=1,
        database_max_overflow=0,
        database_pool_timeout=0.3,
    )
    engine = create_engine(settings)
    try:
        async with engine.connect():
            started = time.monotonic()
            with pytest.raises(sa.exc.TimeoutError):
                async with engine.connect():
                    pass
            assert 0.3 <= time.monotonic() - started < 3
    finally:
        await engine.dispose()


@needs_postgresql
async def test_connections_are_named_by_process(database_url: str) -> None:
    settings = Settings(
        environment="test", database_url=database_url, database_application_name="api-eu"
    )
    engine = create_engine(settings, connect_args={"server_settings": {"search_path": "public"}})
    try:
        async with engine.connect() as connection:
            name = (await connection.execute(sa.text("SHOW application_name"))).scalar_one()
            path = (await connection.execute(sa.text("SHOW search_path"))).scalar_one()
    finally:
        await engine.dispose()
    assert (name, path) == (f"api-eu:{os.getpid()}", "public")


@needs_postgresql
async def test_preflight_reads_postgresql_limit(database_url: str) -> None:
    settings = Settings(environment="test", database_url=database_url)
    allowed = await read_connection_limit(settings)
    assert allowed is not None and allowed > 0

    assert (await preflight(settings, 1)).open_to_application == allowed
    too_many = allowed // PoolLimits.of(settings).per_process + 1
    with pytest.raises(ServeRefused, match=f"more than the {allowed} PostgreSQL allows"):
        await preflight(settings, too_many)


async def test_an_unreachable_postgresql_is_not_checked() -> None:
    port = free_port()  # nothing listens there
    settings = Settings(
        environment="test", database_url=f"postgresql+asyncpg://postgres@127.0.0.1:{port}/app"
    )
    plan = await asyncio.wait_for(preflight(settings, 2), timeout=10)
    assert plan.open_to_application is None
