"""The bench database, built by the app's migrations: a fresh SQLite file in a temporary
directory (default), or a dedicated schema `bench_<pid>` in a PostgreSQL database, dropped
at the end. Other schemas are never touched."""

from __future__ import annotations

import os
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.config import Settings
from app.db.engine import create_engine
from app.db.migrate import upgrade
from bench.settings import SCHEMA_ENV, bench_engine, server_env, settings_from


@dataclass
class BenchDatabase:
    kind: str  # "sqlite" or "postgresql"
    settings: Settings
    schema: str | None
    workdir: Path  # for server logs
    env: dict[str, str] = field(default_factory=dict)

    def engine(self) -> AsyncEngine:
        return bench_engine(self.settings, self.schema)

    def server_env(self) -> dict[str, str]:
        """What a server process needs to find this database (on top of os.environ)."""
        env = {**self.env, "DATABASE_URL": self.settings.database_url}
        if self.schema:
            env[SCHEMA_ENV] = self.schema
        return env


@asynccontextmanager
async def bench_database(
    database_url: str | None, environment: str = "production"
) -> AsyncIterator[BenchDatabase]:
    env = server_env(environment)
    with tempfile.TemporaryDirectory(prefix="fulfillment-bench-") as directory:
        workdir = Path(directory)
        if database_url is None or database_url.startswith("sqlite"):
            url = database_url or f"sqlite+aiosqlite:///{workdir / 'bench.db'}"
            database = BenchDatabase("sqlite", _settings(env, url), None, workdir, env)
            await _migrate(database)
            yield database
            return
        if not database_url.startswith("postgresql+asyncpg://"):
            raise SystemExit("--database-url must be sqlite+aiosqlite:// or postgresql+asyncpg://")
        async with _postgresql_schema(database_url, workdir, env) as database:
            yield database


def _settings(env: dict[str, str], url: str) -> Settings:
    try:
        return settings_from(env, url)
    except ValidationError as exc:
        raise SystemExit(
            f"the app refuses the bench settings ({env['ENVIRONMENT']}):\n{exc}\n"
            "set what it asks for in the environment, or run with --environment development"
        ) from None


@asynccontextmanager
async def _postgresql_schema(
    url: str, workdir: Path, env: dict[str, str]
) -> AsyncIterator[BenchDatabase]:
    schema = f"bench_{os.getpid()}"
    settings = _settings(env, url)
    admin = create_engine(settings)
    try:
        async with admin.begin() as connection:
            await connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        try:
            database = BenchDatabase("postgresql", settings, schema, workdir, env)
            await _migrate(database)
            yield database
        finally:
            async with admin.begin() as connection:
                await connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    finally:
        await admin.dispose()


async def _migrate(database: BenchDatabase) -> None:
    engine = database.engine()
    try:
        async with engine.begin() as connection:
            await connection.run_sync(upgrade)
    finally:
        await engine.dispose()
