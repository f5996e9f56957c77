"""orderPlace with BILLING_PROVIDER=stripe while Stripe misbehaves (the fake Stripe API, over
HTTP): the invoice's payment times out, answers 500, answers 429 with Retry-After, or is run
and its answer cut off. Each fault hits both of the SDK's attempts, so it reaches the order.
Every order then ends once, charged once: COMPLETED when the client places again with its
key, or when the order-recovery job resumes it; FAILED with its charge refunded in Stripe
when, meanwhile, another order changed the subscription its quote priced."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.clock import FixedClock
from app.config import Settings
from app.domain.enums import OrderStatus
from tests.api.orders_support import acme_world, at, place, quote
from tests.fakes.stripe import StripeFake
from tests.services.lifecycle_support import run_at
from tests.services.recovery_support import order_of
from tests.support.graphql import Api

pytestmark = pytest.mark.parametrize("billing", ["stripe"])

PAY = "/v1/invoices/*/pay"
PLACED_AT = at(date(2026, 7, 2))
FIVE_SEATS = 87_238  # worked example 1
TIMEOUT = 0.2  # one attempt's limit here; a hung request runs after HANG
HANG = 0.5

FAULTS: dict[str, Callable[[StripeFake], None]] = {
    "timeout": lambda fake: fake.faults.hang(PAY, HANG, times=2),
    "500": lambda fake: fake.faults.fail(PAY, times=2),
    "429": lambda fake: fake.faults.rate_limit(PAY, times=2, retry_after=0.1),
    "drop-after-charge": lambda fake: fake.faults.drop(PAY, times=2),
}


@pytest.fixture
def app_settings(app_settings: Settings) -> Settings:
    return app_settings.model_copy(update={"stripe_timeout_seconds": TIMEOUT})


async def _placed_under(
    fault: str, api: Api, db: AsyncSession, settings: Settings, clock: FixedClock, fake: StripeFake
) -> tuple[dict[str, Any], str, dict[str, Any]]:
    """An add-seats order placed while the fault is armed: (its owner's world, its quote
    token, the first answer)."""
    acme = await acme_world(db, settings)
    clock.set(PLACED_AT)
    q = await quote(
        api, acme["owner"], subscriptionId=acme["id"], actions=[{"addSeats": {"seats": 5}}]
    )
    FAULTS[fault](fake)
    first = await place(api, acme["owner"], q["token"], key=f"k-{fault}")
    if fault == "timeout":
        await asyncio.sleep(HANG)  # the hung payments have run by now
    return acme, q["token"], first


def _charged_once(fake: StripeFake) -> None:
    charges = fake.objects("charge")
    assert [(c["amount"], c["status"], c["refunded"]) for c in charges] == [
        (FIVE_SEATS, "succeeded", False)
    ]
    assert fake.objects("refund") == []


@pytest.mark.parametrize("fault", list(FAULTS))
async def test_the_clients_retry_with_its_key_completes_the_order_once(
    fault: str,
    api: Api,
    db: AsyncSession,
    settings: Settings,
    clock: FixedClock,
    stripe_fake: StripeFake,
) -> None:
    acme, token, first = await _placed_under(fault, api, db, settings, clock, stripe_fake)
    assert first.get("code") == "PROVIDER_UNAVAILABLE", first

    again = await place(api, acme["owner"], token, key=f"k-{fault}")

    assert again["__typename"] == "OrderPlacePayload", again
    assert (again["order"]["status"], again["order"]["subscription"]["seats"]) == ("COMPLETED", 15)
    _charged_once(stripe_fake)
    assert (await place(api, acme["owner"], token, key=f"k-{fault}")) == again  # replayed


@pytest.mark.parametrize("fault", ["timeout", "drop-after-charge"])
async def test_the_recovery_job_completes_an_order_charged_in_doubt_once(
    fault: str,
    api: Api,
    db: AsyncSession,
    settings: Settings,
    clock: FixedClock,
    stripe_fake: StripeFake,
    runtime: Any,
) -> None:
    acme, token, first = await _placed_under(fault, api, db, settings, clock, stripe_fake)
    assert first.get("code") == "PROVIDER_UNAVAILABLE", first

    handled = await run_at(runtime, clock, PLACED_AT + timedelta(minutes=2))

    assert handled["order-recovery"] == 1
    order = await order_of(db, f"k-{fault}")
    assert order.status is OrderStatus.COMPLETED
    _charged_once(stripe_fake)
    again = await place(api, acme["owner"], token, key=f"k-{fault}")
    assert (again["order"]["status"], again["order"]["subscription"]["seats"]) == ("COMPLETED", 15)
    _charged_once(stripe_fake)


async def test_an_order_charged_in_doubt_that_no_longer_applies_is_refunded_once(
    api: Api,
    db: AsyncSession,
    settings: Settings,
    clock: FixedClock,
    stripe_fake: StripeFake,
    runtime: Any,
) -> None:
    acme, token, first = await _placed_under(
        "drop-after-charge", api, db, settings, clock, stripe_fake
    )
    assert first.get("code") == "PROVIDER_UNAVAILABLE", first
    clock.set(PLACED_AT + timedelta(seconds=90))  # the cut order's lease has run out
    upgrade = await quote(
        api,
        acme["owner"],
        subscriptionId=acme["id"],
        actions=[{"changePlan": {"plan": "ultimate"}}],
    )
    upgraded = await place(api, acme["owner"], upgrade["token"], key="k-upgrade")
    assert upgraded["order"]["status"] == "COMPLETED", upgraded

    await run_at(runtime, clock, PLACED_AT + timedelta(minutes=2))

    order = await order_of(db, "k-drop-after-charge")
    assert (order.status, order.refunded) == (OrderStatus.FAILED, FIVE_SEATS)
    charges = {c["id"]: c for c in stripe_fake.objects("charge")}
    [refund] = stripe_fake.objects("refund")
    assert (refund["amount"], charges[refund["charge"]]["amount"]) == (FIVE_SEATS, FIVE_SEATS)
    assert len(charges) == 2  # the cut order's, once, and the upgrade's
    replayed = await place(api, acme["owner"], token, key="k-drop-after-charge")
    assert replayed.get("code") == "QUOTE_STALE", replayed
    assert len(stripe_fake.objects("refund")) == 1
