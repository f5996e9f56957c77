"""Engines and sessions. SQLite gets the settings that make it a safe embedded default;
PostgreSQL gets a bounded pool per process (see docs/operations.md, "Scaling out"). Both wait a
bounded time for a free connection, shorter than the request limit."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, exc
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from app.config import Settings

# The share of REQUEST_TIMEOUT_SECONDS a request may spend waiting for a connection: the rest
# is left to answer 503 SERVICE_UNAVAILABLE itself before the time limit cuts it off.
POOL_WAIT_SHARE_OF_REQUEST = 0.8

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
        """The wait is DATABASE_POOL_TIMEOUT, capped below the request time limit."""
        cap = settings.request_timeout_seconds * POOL_WAIT_SHARE_OF_REQUEST
        return cls(
            settings.database_pool_size,
            settings.database_max_overflow,
            min(settings.database_pool_timeout, cap),
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
    limits = PoolLimits.of(settings)
    if settings.is_sqlite:
        pool = {} if _in_memory(settings.database_url) else _pool_arguments(limits)
        engine = create_async_engine(
            settings.database_url, connect_args={"timeout": 30}, **pool, **kwargs
        )
        install_sqlite_pragmas(engine)
        return engine
    connect_args = kwargs.pop("connect_args", {})
    if make_url(settings.database_url).get_driver_name() == "asyncpg":
        connect_args = _with_application_name(connect_args, application_name(settings))
    engine = create_async_engine(
        settings.database_url,
        **_pool_arguments(limits),
        # No pre-ping (a BEGIN / SELECT / ROLLBACK per checkout): a connection the server
        # closed is replaced at checkout without a round trip, one lost unnoticed fails a
        # single statement and SQLAlchemy then invalidates the whole pool, and no connection
        # lives longer than DATABASE_POOL_RECYCLE (idle cut-offs of firewalls, proxies).
        pool_pre_ping=False,
        pool_recycle=settings.database_pool_recycle,
        connect_args=connect_args,
        **kwargs,
    )
    event.listen(engine.sync_engine, "checkout", refuse_closed_connection)
    return engine


def _pool_arguments(limits: PoolLimits) -> dict[str, Any]:
    return {
        "pool_size": limits.size,
        "max_overflow": limits.overflow,
        "pool_timeout": limits.timeout,
    }


def _in_memory(url: str) -> bool:
    """An in-memory SQLite database has one connection (SQLAlchemy's StaticPool), no sizes."""
    database = make_url(url).database
    return not database or database == ":memory:"


def refuse_closed_connection(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """Checkout: a connection whose server side is gone (a restart, pg_terminate_backend) is
    known to the driver already (asyncpg saw the socket close): the pool replaces it with a
    new one, and the request never sees it. Asks the driver only, sends nothing."""
    driver = getattr(dbapi_connection, "driver_connection", None)
    is_closed = getattr(driver, "is_closed", None)
    if callable(is_closed) and is_closed():
        raise exc.DisconnectionError("the database server closed this connection")


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
