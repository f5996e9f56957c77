"""A separate database built by the migrations, for tests that need real concurrent
transactions (the shared test connection is one rolled-back transaction, so it cannot race).

SQLite: a file in a temporary directory. PostgreSQL (TEST_DATABASE_URL): a fresh schema in
the test database, every connection's `search_path` set to it, dropped at the end."""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.config import Settings
from app.db.engine import create_engine
from app.db.migrate import upgrade

POOL_SIZE = 20  # room for every racer to hold its own connection


@asynccontextmanager
async def fresh_database(settings: Settings) -> AsyncIterator[AsyncEngine]:
    if settings.is_sqlite:
        async with _sqlite_database(settings) as engine:
            yield engine
    else:
        async with _postgresql_schema(settings) as engine:
            yield engine


@asynccontextmanager
async def _sqlite_database(settings: Settings) -> AsyncIterator[AsyncEngine]:
    with tempfile.TemporaryDirectory(prefix="fresh-db-") as directory:
        url = f"sqlite+aiosqlite:///{Path(directory) / 'fresh.db'}"
        engine = create_engine(settings.model_copy(update={"database_url": url}))
        try:
            await _migrate(engine)
            yield engine
        finally:
            await engine.dispose()


@asynccontextmanager
async def _postgresql_schema(settings: Settings) -> AsyncIterator[AsyncEngine]:
    schema = f"conc_{uuid.uuid4().hex[:12]}"
    admin = create_engine(settings)
    try:
        async with admin.begin() as connection:
            await connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        engine = create_engine(
            settings.model_copy(
                update={"database_pool_size": POOL_SIZE, "database_max_overflow": POOL_SIZE}
            ),
            connect_args={"server_settings": {"search_path": schema}},
        )
        try:
            await _migrate(engine)
            yield engine
        finally:
            await engine.dispose()
            async with admin.begin() as connection:
                await connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    finally:
        await admin.dispose()


async def _migrate(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        await connection.run_sync(upgrade)
