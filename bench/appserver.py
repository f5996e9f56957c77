"""The real application for the bench's server process:
`uvicorn bench.appserver:create_app --factory`.

On SQLite this is exactly `app.main.create_app()` (settings from the environment). On
PostgreSQL the runtime is built the same way as the app's lifespan does, except that its
engine puts the bench schema on the `search_path`, which a DATABASE_URL cannot express."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette

from app.clock import SystemClock
from app.config import Settings
from app.db.catalog_cache import CatalogCache
from app.db.engine import create_session_factory
from app.main import create_app as create_real_app
from app.providers.registry import build_providers
from app.runtime import Runtime
from bench.settings import SCHEMA_ENV, bench_engine


def build_bench_runtime() -> Runtime:
    """What app.runtime.build_runtime() builds, on the bench engine."""
    settings = Settings()
    engine = bench_engine(settings)
    sessions = create_session_factory(engine)
    clock = SystemClock()
    providers = build_providers(settings, sessions, clock)
    catalog = CatalogCache() if settings.catalog_cache else None
    return Runtime(settings, sessions, clock, providers, engine, catalog)


def create_app() -> Starlette:
    if not os.environ.get(SCHEMA_ENV):
        return create_real_app()
    runtime = build_bench_runtime()
    app = create_real_app(runtime=runtime)
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with inner(app):
            try:
                yield
            finally:
                await runtime.aclose()

    app.router.lifespan_context = lifespan
    return app
