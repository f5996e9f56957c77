"""The billing room holds Zuora's own proration of an amendment against the domain's: a fake
Zuora tenant set to prorate by month first (tests/fakes/zuora/orders.py) prorates a mid-term
seat add its own way, so the sync refuses it with "proration_mismatch", logs both figures
and places no order; a change Zuora prorates by day, as the domain does, is amended, and so
is the same seat add on a tenant prorating by day."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.clock import FixedClock
from app.config import Settings
from app.db.tables import Subscription
from app.domain.money import prorate
from app.providers.errors import ProviderRejected
from app.providers.registry import build_providers
from app.runtime import Runtime, build_runtime
from app.services.billing import subscriptions
from tests.fakes.zuora import ZuoraFake, running_fake
from tests.fakes.zuora.setup import zuora_settings
from tests.support import factories as f

START = datetime(2026, 1, 1, 9, tzinfo=UTC)
MID_TERM = datetime(2026, 7, 2, 9, tzinfo=UTC)  # 183 of 365 days left; 5 months and 30/31
SEAT = 34_800  # premium, per seat and term


@pytest.fixture(scope="module")
async def zuora_fake() -> AsyncIterator[ZuoraFake]:
    async with running_fake() as fake:
        yield fake


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
async def runtime(
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    clock: FixedClock,
    zuora_fake: ZuoraFake,
) -> AsyncIterator[Runtime]:
    zuora_fake.reset()
    zuora_fake.store.today = clock.today
    chosen = settings.model_copy(update=zuora_settings(zuora_fake))
    providers = build_providers(chosen, session_factory, clock)
    yield build_runtime(chosen, sessions=session_factory, clock=clock, providers=providers)
    await providers.aclose()


async def _synced(db: AsyncSession, runtime: Runtime) -> Subscription:
    sub = await f.subscription(db, await f.customer(db))
    await subscriptions.sync(runtime, sub.id or 0, idempotency_key="sync-1")
    await db.refresh(sub)
    assert sub.provider_ref
    return sub


async def test_a_seat_add_zuora_prorates_by_month_is_refused_and_nothing_is_written(
    db: AsyncSession,
    runtime: Runtime,
    clock: FixedClock,
    zuora_fake: ZuoraFake,
    caplog: pytest.LogCaptureFixture,
) -> None:
    zuora_fake.store.proration = "month_first"
    sub = await _synced(db, runtime)
    sub.seats = 11
    await db.flush()
    clock.set(MID_TERM)
    ours = prorate(SEAT, MID_TERM.date(), sub.term_start, sub.term_end)  # 17 447.67 -> 17 448
    theirs = 17_306  # 348.00 x (5 + 30/31) / 12 = 173.0645... -> 173.06
    orders = zuora_fake.executed("POST", "/v1/orders")

    with caplog.at_level(logging.WARNING), pytest.raises(ProviderRejected) as caught:
        await subscriptions.sync(runtime, sub.id or 0, idempotency_key="sync-2")

    assert (ours, caught.value.code, caught.value.provider) == (
        17_448,
        "proration_mismatch",
        "zuora",
    )
    assert f"prorates {theirs}, we charged {ours}" in caught.value.message
    assert f"provider {theirs}, ours {ours}" in caplog.text
    assert zuora_fake.executed("POST", "/v1/orders") == orders == 1
    assert zuora_fake.executed("POST", "/v1/orders/preview") == 1
    remote = await runtime.providers.billing.get_subscriptions([sub.provider_ref or ""])
    assert [item.quantity for item in remote[sub.provider_ref or ""].items] == [10]


@pytest.mark.parametrize(("proration", "seats"), [("month_first", 8), ("day", 8), ("day", 11)])
async def test_a_change_zuora_prorates_by_day_is_amended(
    db: AsyncSession,
    runtime: Runtime,
    clock: FixedClock,
    zuora_fake: ZuoraFake,
    proration: str,
    seats: int,
) -> None:
    zuora_fake.store.proration = proration
    sub = await _synced(db, runtime)
    sub.seats = seats
    await db.flush()
    clock.set(MID_TERM)

    await subscriptions.sync(runtime, sub.id or 0, idempotency_key="sync-2")

    assert zuora_fake.executed("POST", "/v1/orders") == 2
    remote = await runtime.providers.billing.get_subscriptions([sub.provider_ref or ""])
    assert [item.quantity for item in remote[sub.provider_ref or ""].items] == [seats]
