"""`fulfillment seed-demo`: load the demo data into the configured database, in one commit."""

from __future__ import annotations

from app.clock import SystemClock
from app.config import Settings
from app.db.engine import create_engine, create_session_factory
from app.db.unit_of_work import unit_of_work
from app.services.demo.seed import DemoSummary, seed_demo


async def seed_demo_database(settings: Settings) -> DemoSummary:
    engine = create_engine(settings)
    try:
        async with unit_of_work(create_session_factory(engine)) as session:
            return await seed_demo(session, settings, SystemClock())
    finally:
        await engine.dispose()
