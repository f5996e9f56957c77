"""Settings and engines for every bench process.

The runner builds one environment (`server_env`) and hands it to each server process; the
servers read their Settings from it like `fulfillment serve` does. PostgreSQL runs use a
schema of their own (`BENCH_PG_SCHEMA`): every connection gets it as its `search_path`
through asyncpg's `server_settings`, so nothing outside it is touched."""

from __future__ import annotations

import os
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from app.config import Settings
from app.db.engine import create_engine

SCHEMA_ENV = "BENCH_PG_SCHEMA"
# "1": the engine pings each connection at checkout, as the app did before (an A/B figure for
# bench.concurrency --pre-ping; PostgreSQL, where the server process builds a bench engine).
PRE_PING_ENV = "BENCH_PRE_PING"
JWT_SECRET = "bench-only-secret-not-for-anything-else-0123456789"


def server_env(environment: str = "production") -> dict[str, str]:
    """Production settings by default (GraphiQL off), with secrets made up for this run.

    One edge limit is raised, not switched off (it is still computed and spent per request):
    the per-principal cost budget, which one bench user sending thousands of requests a
    minute would exhaust. The per-operation cost cap stays at its default: the dashboard at
    its largest page (100 subscriptions x 3 invoices with lines) costs 1701 of 5000."""
    env = {
        "ENVIRONMENT": environment,
        "JWT_SECRET": JWT_SECRET,
        "RATE_LIMIT_POINTS": str(10**15),
    }
    if environment == "production" and not os.environ.get("LICENSE_SIGNING_KEY"):
        key = _ephemeral_ed25519_pem()
        if key:
            env["LICENSE_SIGNING_KEY"] = key
    return env


def settings_from(env: dict[str, str], database_url: str) -> Settings:
    """What a server started with `env` (and DATABASE_URL) reads; unknown names are ignored."""
    values: dict[str, Any] = {key.lower(): value for key, value in env.items()}
    return Settings(**values, database_url=database_url)


def connect_args(schema: str | None) -> dict[str, Any]:
    return {"server_settings": {"search_path": schema}} if schema else {}


def bench_engine(settings: Settings, schema: str | None = None) -> AsyncEngine:
    """The app's engine (pool, SQLite pragmas), pointed at the bench schema on PostgreSQL."""
    schema = schema if schema is not None else os.environ.get(SCHEMA_ENV)
    if settings.is_sqlite or not schema:
        return create_engine(settings)
    engine = create_engine(settings, connect_args=connect_args(schema))
    if os.environ.get(PRE_PING_ENV) == "1":
        engine.pool._pre_ping = True  # what pool_pre_ping=True sets
    return engine


def _ephemeral_ed25519_pem() -> str | None:
    try:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    except ImportError:
        return None
    return (
        Ed25519PrivateKey.generate()
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )
