"""A private PostgreSQL database for a multi-process server (created on the server of
TEST_DATABASE_URL, migrated, seeded with the demo data, dropped at the end), and a watch on
the connections its server processes hold, read from pg_stat_activity."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from app.config import Settings
from app.db.engine import create_engine
from app.db.migrate import upgrade
from app.services.demo.runner import seed_demo_database


def autocommit_engine(url: str) -> AsyncEngine:
    """Every statement its own transaction: pg_stat_activity is read afresh each time (a
    transaction keeps the first snapshot it reads)."""
    return create_async_engine(url, poolclass=NullPool, isolation_level="AUTOCOMMIT")


@asynccontextmanager
async def private_database(server_url: str, settings: Settings) -> AsyncIterator[str]:
    """Yields the URL of a new database with the migrations and demo data."""
    name = f"scale_{uuid.uuid4().hex[:12]}"
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    admin = autocommit_engine(server_url)
    try:
        async with admin.connect() as connection:
            await connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
        try:
            await migrate_and_seed(settings.model_copy(update={"database_url": url}))
            yield url
        finally:
            async with admin.connect() as connection:
                await connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        await admin.dispose()


async def migrate_and_seed(settings: Settings) -> None:
    engine = create_engine(settings)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(upgrade)
    finally:
        await engine.dispose()
    await seed_demo_database(settings)


_BY_PROCESS = sa.text(
    "SELECT application_name, count(*), max(state_change) FROM pg_stat_activity"
    " WHERE datname = current_database() AND application_name LIKE :pattern"
    " GROUP BY application_name"
)


@dataclass(frozen=True)
class ProcessConnections:
    """What one server process (one application_name, `<name>:<pid>`) holds right now."""

    connections: int
    last_state_change: datetime | None


@dataclass
class ConnectionWatch:
    """Samples the server's connections every few milliseconds while a load runs, keeping
    the most each process (and all of them together) held at any sample."""

    connection: AsyncConnection
    application_name: str
    most_per_process: dict[str, int] = field(default_factory=dict)
    most_in_all: int = 0
    samples: int = 0
    _turn: asyncio.Lock = field(default_factory=asyncio.Lock)  # one statement at a time

    async def snapshot(self) -> dict[str, ProcessConnections]:
        async with self._turn:
            rows = await self.connection.execute(
                _BY_PROCESS, {"pattern": f"{self.application_name}:%"}
            )
        return {name: ProcessConnections(count, changed) for name, count, changed in rows}

    async def now(self) -> datetime:
        async with self._turn:
            result = await self.connection.execute(sa.text("SELECT clock_timestamp()"))
        moment: datetime = result.scalar_one()
        return moment

    async def active_since(self, moment: datetime) -> set[str]:
        """The processes whose connections ran SQL after `moment` (state_change moves when
        a backend goes active or idle again)."""
        return {
            name
            for name, seen in (await self.snapshot()).items()
            if seen.last_state_change is not None and seen.last_state_change >= moment
        }

    def record(self, snapshot: dict[str, ProcessConnections]) -> None:
        self.samples += 1
        for name, seen in snapshot.items():
            self.most_per_process[name] = max(self.most_per_process.get(name, 0), seen.connections)
        self.most_in_all = max(self.most_in_all, sum(s.connections for s in snapshot.values()))

    @asynccontextmanager
    async def sampling(self, every: float = 0.01) -> AsyncIterator[None]:
        async def sample() -> None:
            while True:
                self.record(await self.snapshot())
                await asyncio.sleep(every)

        task = asyncio.create_task(sample())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            self.record(await self.snapshot())


@asynccontextmanager
async def watching(url: str, application_name: str) -> AsyncIterator[ConnectionWatch]:
    engine = autocommit_engine(url)
    try:
        async with engine.connect() as connection:
            yield ConnectionWatch(connection, application_name)
    finally:
        await engine.dispose()
