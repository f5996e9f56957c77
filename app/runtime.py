"""What the process holds for its lifetime: settings, engine, sessions, clock, providers.
Built once in the lifespan (or by a test), closed at shutdown; nothing at import time."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.clock import Clock, OffsetClock, SystemClock
from app.config import Settings
from app.db.catalog_cache import CatalogCache
from app.db.engine import create_engine, create_session_factory
from app.observability.metrics import Metrics
from app.observability.tracing import tracer_for
from app.providers.registry import Providers, build_providers
from app.services.orders.turns import Turns


@dataclass
class Runtime:
    settings: Settings
    sessions: async_sessionmaker[AsyncSession]
    clock: Clock
    providers: Providers
    engine: AsyncEngine | None = None
    catalog: CatalogCache | None = None
    turns: Turns = field(default_factory=Turns)  # orders of this process queue per subscription
    metrics: Metrics = field(default_factory=Metrics)  # this process's, on GET /metrics

    async def aclose(self) -> None:
        await self.providers.aclose()
        if self.engine is not None:
            await self.engine.dispose()


def build_runtime(
    settings: Settings,
    *,
    sessions: async_sessionmaker[AsyncSession] | None = None,
    clock: Clock | None = None,
    providers: Providers | None = None,
    metrics: Metrics | None = None,
) -> Runtime:
    """Providers built here are instrumented with the runtime's metrics; ones handed in are
    used as given (a test's counting wrapper, or built with `build_providers(..., metrics)`)."""
    engine = None
    if sessions is None:
        engine = create_engine(settings)
        sessions = create_session_factory(engine)
    clock = clock or (OffsetClock() if settings.test_clock else SystemClock())
    metrics = metrics or Metrics(tracer=tracer_for(settings))
    providers = providers or build_providers(settings, sessions, clock, metrics)
    catalog = CatalogCache() if settings.catalog_cache else None
    return Runtime(settings, sessions, clock, providers, engine, catalog, metrics=metrics)
