"""What `fulfillment serve` checks before uvicorn starts N worker processes.

Each worker process is a whole app: its own runtime, its own PostgreSQL pool, its own
in-memory state (rate budgets, caches, the test clock's offset). So the server refuses what
cannot be shared (SQLite and the test clock with several workers), refuses a pool arithmetic
that PostgreSQL cannot honour, and says how many connections it may open."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from app.config import Settings
from app.db.engine import PoolLimits

CONNECT_SECONDS = 5.0

# max_connections minus the slots only superusers (and, from PostgreSQL 16, roles with
# pg_use_reserved_connections) may take: what the application's role can really open.
_OPEN_TO_APPLICATION = sa.text(
    "SELECT current_setting('max_connections')::int"
    " - current_setting('superuser_reserved_connections')::int"
    " - coalesce(current_setting('reserved_connections', true), '0')::int"
)


class ServeRefused(Exception):
    """The configuration cannot run as asked; the message says what to change."""


@dataclass(frozen=True, slots=True)
class ServePlan:
    workers: int
    pool: PoolLimits | None  # None on SQLite
    open_to_application: int | None = None  # PostgreSQL's limit for us, when it answered

    @property
    def max_connections(self) -> int:
        """The most PostgreSQL connections this server's processes can hold together."""
        return 0 if self.pool is None else self.workers * self.pool.per_process

    def describe(self) -> str:
        processes = f"{self.workers} worker process{'es' if self.workers > 1 else ''}"
        if self.pool is None:
            return f"{processes} on SQLite"
        line = f"{processes}, {self.pool.describe()}: at most {self.max_connections} in all"
        if self.open_to_application is None:
            return f"{line} (PostgreSQL's max_connections not read)"
        return (
            f"{line}, of the {self.open_to_application} PostgreSQL allows; leave room for "
            "`fulfillment worker` processes, migrations and other replicas"
        )


def plan_serve(settings: Settings, workers: int) -> ServePlan:
    """The checks that need no database: what several processes cannot share."""
    if workers < 1:
        raise ServeRefused("--workers must be at least 1.")
    if workers > 1 and settings.is_sqlite:
        raise ServeRefused(
            "SQLite serves one process: its writers take turns on one file lock, so more "
            "workers add no capacity. Run several workers against PostgreSQL "
            "(DATABASE_URL=postgresql+asyncpg://...), or serve with --workers 1."
        )
    if workers > 1 and settings.test_clock:
        raise ServeRefused(
            "TEST_CLOCK keeps its offset in each process, so testClockAdvance would move one "
            "worker's clock only. Serve the test clock with --workers 1."
        )
    return ServePlan(workers, None if settings.is_sqlite else PoolLimits.of(settings))


def check_connection_limit(plan: ServePlan, open_to_application: int | None) -> ServePlan:
    """Refuse a server whose pools alone could take more than PostgreSQL lets us open."""
    checked = ServePlan(plan.workers, plan.pool, open_to_application)
    if open_to_application is not None and checked.max_connections > open_to_application:
        assert checked.pool is not None
        raise ServeRefused(
            f"{checked.workers} worker processes x {checked.pool.per_process} connections "
            f"(pool {checked.pool.size} + overflow {checked.pool.overflow}) = "
            f"{checked.max_connections}, more than the {open_to_application} PostgreSQL "
            "allows. Lower --workers, DATABASE_POOL_SIZE or DATABASE_MAX_OVERFLOW, or raise "
            "PostgreSQL's max_connections."
        )
    return checked


async def read_connection_limit(settings: Settings) -> int | None:
    """How many connections PostgreSQL opens to non-superusers; None if it does not answer
    (the server still starts: /readyz reports the database)."""
    url = make_url(settings.database_url)
    if url.get_driver_name() != "asyncpg":
        return None
    engine = create_async_engine(url, poolclass=NullPool, connect_args={"timeout": CONNECT_SECONDS})
    try:
        async with engine.connect() as connection:
            return int((await connection.execute(_OPEN_TO_APPLICATION)).scalar_one())
    except (OSError, TimeoutError, sa.exc.SQLAlchemyError):
        return None
    finally:
        await engine.dispose()


async def preflight(settings: Settings, workers: int) -> ServePlan:
    plan = plan_serve(settings, workers)
    if plan.pool is None:
        return plan
    return check_connection_limit(plan, await read_connection_limit(settings))
