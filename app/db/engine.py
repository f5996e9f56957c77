"""Engines and sessions. SQLite gets the settings that make it a safe embedded default;
PostgreSQL gets a bounded pool per process (see README, "Scaling out")."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from app.config import Settings

# Execution option naming the SQLite BEGIN mode; a write unit of work asks for IMMEDIATE so
# that concurrent writers queue on the database lock instead of failing on lock upgrade.
SQLITE_BEGIN = "sqlite_begin"


@dataclass(frozen=True, slots=True)
class PoolLimits:
    """One process's PostgreSQL pool: `size` connections kept open, up to `overflow` more
    opened under load (closed again when returned), and how long a request waits for one."""

    size: int
    overflow: int
    timeout: float

    @classmethod
    def of(cls, settings: Settings) -> PoolLimits:
        return cls(
            settings.database_pool_size,
            settings.database_max_overflow,
            settings.database_pool_timeout,
        )

    @property
    def per_process(self) -> int:
        """The most connections one process can hold at once."""
        return self.size + self.overflow

    def describe(self) -> str:
        return (
            f"pool {self.size} + overflow {self.overflow} = {self.per_process} connections "
            f"per process, {self.timeout:g} s wait for a free one"
        )


def create_engine(settings: Settings, **kwargs: Any) -> AsyncEngine:
    if settings.is_sqlite:
        engine = create_async_engine(settings.database_url, connect_args={"timeout": 30}, **kwargs)
        install_sqlite_pragmas(engine)
        return engine
    limits = PoolLimits.of(settings)
    connect_args = kwargs.pop("connect_args", {})
    if make_url(settings.database_url).get_driver_name() == "asyncpg":
        connect_args = _with_application_name(connect_args, application_name(settings))
    return create_async_engine(
        settings.database_url,
        pool_size=limits.size,
        max_overflow=limits.overflow,
        pool_timeout=limits.timeout,
        pool_pre_ping=True,
        connect_args=connect_args,
        **kwargs,
    )


def application_name(settings: Settings) -> str:
    """`<DATABASE_APPLICATION_NAME>:<pid>`: pg_stat_activity then shows which process holds
    which connection (PostgreSQL keeps the first 63 bytes)."""
    return f"{settings.database_application_name}:{os.getpid()}"


def _with_application_name(connect_args: dict[str, Any], name: str) -> dict[str, Any]:
    """asyncpg's `server_settings`, keeping the caller's (a search_path, say, or its own
    application_name)."""
    server_settings = {"application_name": name, **connect_args.get("server_settings", {})}
    return {**connect_args, "server_settings": server_settings}


def install_sqlite_pragmas(engine: AsyncEngine) -> None:
    """Foreign keys on, WAL, and SQLAlchemy's recipe for real transactions and SAVEPOINTs."""

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        mode = connection.get_execution_options().get(SQLITE_BEGIN, "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)
