"""Concurrent usage reports for one deployment lose no update: every compute minute is
counted exactly once (quota, packs, monthly totals), the same event id racing itself counts
once, and racing seat reports leave one row per day and the right seat counts.

These run on a database of their own (see tests/support/fresh_database.py) with real,
separately committed transactions, on SQLite and on PostgreSQL (TEST_DATABASE_URL)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlmodel import col

from app.config import Settings
from app.db.engine import create_session_factory
from app.db.tables import (
    ComputeUsageEvent,
    ComputeUsageMonth,
    ConsumablePurchase,
    Deployment,
    SeatUsage,
    Subscription,
)
from app.services.usage.compute import ComputeReportResult, report_compute
from app.services.usage.seats import SeatReportResult, report_seats
from tests.services.usage_support import PRODUCT, compute_pack, in_unit
from tests.support import factories as f
from tests.support.fresh_database import fresh_database

NOW = datetime(2026, 4, 10, 12, tzinfo=UTC)


@pytest.fixture(scope="module")
async def engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    async with fresh_database(settings) as engine:
        yield engine


@pytest.fixture(scope="module")
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return create_session_factory(engine)


@dataclass(frozen=True)
class World:
    deployment_id: int
    external_id: str
    subscription_id: int
    pack_ids: tuple[int, ...]


async def seed(sessions: async_sessionmaker[AsyncSession], packs: tuple[int, ...]) -> World:
    """A Premium subscription (10 000 minutes a month) with compute packs, committed."""
    async with sessions() as db, db.begin():
        sub = await f.subscription(db, await f.customer(db), "premium", seats=50)
        made = [
            await compute_pack(
                db, sub, units, purchased_on=date(2026, 3, 1), expires_on=date(2027, 3, 1 + n)
            )
            for n, units in enumerate(packs)
        ]
        deployment = await db.get(Deployment, sub.deployment_id)
    assert deployment is not None and sub.id is not None
    return World(sub.deployment_id, deployment.external_id, sub.id, tuple(p.id or 0 for p in made))


async def compute(
    sessions: async_sessionmaker[AsyncSession], world: World, event_id: str, minutes: int
) -> ComputeReportResult:
    found = await in_unit(
        sessions,
        lambda s: report_compute(
            s,
            PRODUCT,
            deployment=world.external_id,
            event_id=event_id,
            minutes=minutes,
            now=NOW,
        ),
    )
    assert isinstance(found, ComputeReportResult), found
    return found


async def totals(sessions: async_sessionmaker[AsyncSession], world: World) -> dict[str, object]:
    async with sessions() as db:
        month = (
            await db.scalars(
                sa.select(ComputeUsageMonth).where(
                    col(ComputeUsageMonth.deployment_id) == world.deployment_id
                )
            )
        ).one()
        packs = await db.scalars(
            sa.select(col(ConsumablePurchase.units_used))
            .where(col(ConsumablePurchase.id).in_(world.pack_ids))
            .order_by(col(ConsumablePurchase.id))
        )
        events = (
            await db.execute(
                sa.select(sa.func.count(), sa.func.sum(ComputeUsageEvent.minutes)).where(
                    col(ComputeUsageEvent.deployment_id) == world.deployment_id
                )
            )
        ).one()
    return {
        "month": (month.quota_used, month.purchased_used, month.uncovered, month.events),
        "packs": list(packs.all()),
        "events": tuple(events),
    }


async def test_concurrent_reports_count_every_minute_once(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    world = await seed(sessions, packs=(3_000, 2_000))

    results = await asyncio.gather(
        *(compute(sessions, world, f"job-{n}", 1_600) for n in range(10))
    )

    # 16 000 minutes: 10 000 of quota, both packs (the one expiring first first), 1 000 over.
    assert await totals(sessions, world) == {
        "month": (10_000, 5_000, 1_000, 10),
        "packs": [3_000, 2_000],
        "events": (10, 16_000),
    }
    assert sum(r.event.from_quota for r in results) == 10_000
    assert sum(r.event.from_purchased for r in results) == 5_000
    assert not any(r.duplicate for r in results)


async def test_the_same_event_racing_itself_counts_once(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    world = await seed(sessions, packs=(1_000,))

    results = await asyncio.gather(
        *(compute(sessions, world, "same-job", 10_500) for _ in range(6))
    )

    assert sorted(r.duplicate for r in results) == [False] + [True] * 5
    assert {r.event.id for r in results} == {results[0].event.id}
    assert await totals(sessions, world) == {
        "month": (10_000, 500, 0, 1),
        "packs": [500],
        "events": (1, 10_500),
    }


async def test_racing_seat_reports_keep_one_row_per_day_and_the_latest_figure(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    world = await seed(sessions, packs=())
    base = datetime(2026, 4, 1, 8, tzinfo=UTC)
    # 12 reports over 3 days (4 a day, an hour apart); figures 10, 11, ... 21 in time order.
    reports = [(base + timedelta(days=n // 4, hours=n % 4), 10 + n) for n in range(12)]

    async def send(at: datetime, users: int) -> SeatReportResult:
        found = await in_unit(
            sessions,
            lambda s: report_seats(
                s,
                PRODUCT,
                deployment=world.external_id,
                billable_users=users,
                reported_at=at,
                now=NOW,
            ),
        )
        assert isinstance(found, SeatReportResult), found
        return found

    await asyncio.gather(*(send(at, users) for at, users in reversed(reports)))

    async with sessions() as db:
        rows = await db.scalars(
            sa.select(SeatUsage)
            .where(col(SeatUsage.deployment_id) == world.deployment_id)
            .order_by(col(SeatUsage.reported_on))
        )
        assert [(r.reported_on.day, r.billable_users) for r in rows] == [(1, 13), (2, 17), (3, 21)]
        sub = await db.get(Subscription, world.subscription_id)
    assert sub is not None
    assert (sub.seats_in_use, sub.max_seats_used) == (21, 21)
