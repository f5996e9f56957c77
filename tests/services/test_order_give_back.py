"""What an order gives back. A zero-total order keeps its redeemed promotion on its row (no
invoice shows it): one cut after its promotion was redeemed and then failed gives the
promotion back; one whose retry gives up waiting for its turn keeps its row, so a later retry
never redeems twice; a wait for a renewal's charge fails no order. An order gives its claim
back before the claim runs out, never waiting past it. Inside the test's transaction, a
FixedClock and the local billing provider; both databases."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from app.clock import FixedClock
from app.config import Settings
from app.db.tables import Order, OrderLease, Promotion
from app.domain.enums import OrderStatus
from app.domain.errors import DomainError, ErrorCode
from app.domain.lifecycle import RenewalStatus
from app.domain.pricing import AddSeats, ChangePlan
from app.runtime import Runtime
from app.services.orders import execution, placing
from app.services.orders.context import OrderDeps
from app.services.orders.placing import place_order
from app.services.orders.turns import Turns
from tests.services.lifecycle_support import run_at
from tests.services.recovery_support import (
    Buyer,
    buyer,
    local_runtime,
    order_of,
    place,
    quote,
    renewal_in_doubt,
)

PLACED_AT = datetime(2026, 7, 2, 12, tzinfo=UTC)
LATER = PLACED_AT + timedelta(minutes=2)  # the cut order's lease (60 s) has run out


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(PLACED_AT)


@pytest.fixture
def runtime(
    settings: Settings, session_factory: async_sessionmaker[AsyncSession], clock: FixedClock
) -> Runtime:
    return local_runtime(settings, session_factory, clock)


async def _free_order_cut_after_prepare(
    db: AsyncSession, runtime: Runtime, monkeypatch: pytest.MonkeyPatch, who: Buyer
) -> tuple[Promotion, str]:
    """Five seats at 100% off; the request dies once the order was prepared (its promotion
    redeemed, nothing invoiced). Returns the promotion and the quote token."""
    promotion = Promotion(code="FREE100", percent_off=100, max_redemptions=5)
    db.add(promotion)
    await db.flush()
    token = await quote(runtime, who, AddSeats(5), promo="FREE100")

    async def cut(*_args: object) -> None:
        raise asyncio.CancelledError

    with monkeypatch.context() as patched:
        patched.setattr(execution, "collect", cut)
        with pytest.raises(asyncio.CancelledError):
            await place(runtime, who, token, "free")
    order = await order_of(db, "free")
    await db.refresh(promotion)
    assert (order.status, order.total, order.result) == (
        OrderStatus.PENDING, 0, {"promotion_redeemed": True})  # fmt: skip
    assert promotion.redemptions == 1
    return promotion, token


async def test_a_failed_zero_total_order_gives_its_promotion_back(
    db: AsyncSession, runtime: Runtime, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    who = await buyer(db)
    promotion, _ = await _free_order_cut_after_prepare(db, runtime, monkeypatch, who)
    clock.set(PLACED_AT + timedelta(seconds=90))  # another order moves the subscription on
    upgrade = await quote(runtime, who, ChangePlan("ultimate"))
    assert (await place(runtime, who, upgrade, "upgrade")).order.status is OrderStatus.COMPLETED

    await run_at(runtime, clock, LATER)

    order = await order_of(db, "free")
    assert (order.status, order.result["error"]["code"]) == (OrderStatus.FAILED, "QUOTE_STALE")
    await db.refresh(promotion)
    assert promotion.redemptions == 0


@pytest.mark.parametrize("stale_lease", [True, False], ids=["stale-lease", "lease-gone"])
async def test_a_resumed_zero_total_order_that_gives_up_its_turn_keeps_its_row(
    db: AsyncSession,
    runtime: Runtime,
    clock: FixedClock,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    stale_lease: bool,
) -> None:
    """The cut order's expired lease row may still name it, or be gone (another order took
    it over and gave it back): either way its retry's give-up keeps the row."""
    who = await buyer(db)
    promotion, token = await _free_order_cut_after_prepare(db, runtime, monkeypatch, who)
    if not stale_lease:
        await db.execute(sa.delete(OrderLease))
    clock.set(LATER)
    turns = Turns()
    held = await turns.take(f"subscription:{who.subscription.id}", 1.0)  # another order's
    quick = settings.model_copy(update={"request_timeout_seconds": 0.3})
    deps = OrderDeps(runtime.sessions, runtime.providers.billing, clock, quick, turns)

    with pytest.raises(DomainError) as refused:
        await place_order(deps, who.principal, token, "free")

    assert refused.value.code is ErrorCode.ORDER_IN_PROGRESS
    order = await order_of(db, "free")
    assert (order.status, order.result, order.processing_until) == (
        OrderStatus.PENDING, {"promotion_redeemed": True}, None)  # fmt: skip
    held.release()
    placed = await place(runtime, who, token, "free")
    assert (placed.order.status, placed.order.id) == (OrderStatus.COMPLETED, order.id)
    await db.refresh(promotion)
    await db.refresh(who.subscription)
    assert (promotion.redemptions, who.subscription.seats) == (1, 15)


async def test_a_resumed_order_that_meets_a_renewal_in_doubt_waits_instead_of_failing(
    db: AsyncSession, runtime: Runtime, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ORDER_IN_PROGRESS tells the client to retry, so it never fails an order (a FAILED
    order would answer every retry with that same error): the uninvoiced order pauses, keeps
    its promotion, and completes once the renewal is settled."""
    who = await buyer(db)
    promotion, token = await _free_order_cut_after_prepare(db, runtime, monkeypatch, who)
    sub = who.subscription
    renewal = await renewal_in_doubt(db, sub, PLACED_AT)
    clock.set(LATER)

    with pytest.raises(DomainError) as waiting:
        await place(runtime, who, token, "free")

    assert waiting.value.code is ErrorCode.ORDER_IN_PROGRESS
    order = await order_of(db, "free")
    assert (order.status, order.result, order.processing_until) == (
        OrderStatus.PENDING, {"promotion_redeemed": True}, None)  # fmt: skip
    renewal.status = RenewalStatus.PAID
    await db.flush()
    placed = await place(runtime, who, token, "free")
    assert (placed.order.status, placed.order.id) == (OrderStatus.COMPLETED, order.id)
    await db.refresh(promotion)
    await db.refresh(sub)
    assert (promotion.redemptions, sub.seats) == (1, 15)


async def test_an_order_waits_for_its_turn_no_longer_than_its_claim(
    db: AsyncSession, runtime: Runtime, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A request limit longer than the claim (60 s here shortened to 0.5 s): the order gives
    its claim back before it runs out, so no retry or recovery round resumes it meanwhile."""
    monkeypatch.setattr(placing, "LEASE", timedelta(seconds=0.5))
    who = await buyer(db)
    token = await quote(runtime, who, AddSeats(5))
    turns = Turns()
    held = await turns.take(f"subscription:{who.subscription.id}", 1.0)  # another order's
    patient = settings.model_copy(
        update={"request_timeout_seconds": 30.0, "order_charge_reserve_seconds": 0.2}
    )
    deps = OrderDeps(runtime.sessions, runtime.providers.billing, runtime.clock, patient, turns)

    with pytest.raises(DomainError) as refused:
        await asyncio.wait_for(place_order(deps, who.principal, token, "patient"), 5.0)

    held.release()
    assert refused.value.code is ErrorCode.ORDER_IN_PROGRESS
    found = await db.scalars(sa.select(Order).where(col(Order.idempotency_key) == "patient"))
    assert found.all() == []  # the fresh claim was given back
