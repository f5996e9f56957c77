"""A testClockAdvance cancelled in the middle of a stop (the request limit) still audits the
span the clock actually moved: never a moved clock without its audit row."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from app.auth.principals import Principal, PrincipalKind
from app.clock import FixedClock
from app.config import Settings
from app.db.tables import AuditEvent
from app.runtime import Runtime, build_runtime
from app.services import audit, test_clock

STAFF = Principal(kind=PrincipalKind.ADMIN, id="7", name="Staff")


class StuckOnThirdStop:
    """A job that handles nothing, and never returns at its third stop."""

    name = "stuck"

    def __init__(self) -> None:
        self.calls = 0
        self.stuck = asyncio.Event()

    async def run(self, runtime: Runtime, now: datetime) -> int:
        self.calls += 1
        if self.calls == 3:
            self.stuck.set()
            await asyncio.Event().wait()
        return 0


async def test_a_cancelled_advance_audits_what_it_applied(
    db: AsyncSession, settings: Settings, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    clock = FixedClock(datetime(2026, 6, 1, 12, tzinfo=UTC))
    runtime = build_runtime(settings, sessions=session_factory, clock=clock)
    job = StuckOnThirdStop()
    attributed = audit.attribution(STAFF, "cut short", "req-1")
    to = datetime(2026, 6, 10, tzinfo=UTC)
    task = asyncio.create_task(test_clock.advance(runtime, STAFF, to, attributed, jobs=[job]))
    await job.stuck.wait()

    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    assert clock.now() == datetime(2026, 6, 4, tzinfo=UTC)  # the third midnight
    rows = (
        await db.scalars(
            sa.select(AuditEvent).where(col(AuditEvent.action) == "test_clock.advanced")
        )
    ).all()
    assert [(e.before, e.after, e.reason) for e in rows] == [
        ({"now": "2026-06-01T12:00:00+00:00"}, {"now": "2026-06-04T00:00:00+00:00"}, "cut short")
    ]
