"""With BILLING_PROVIDER=stripe, an order's quote is what Stripe bills: for every action an
order can carry (a new subscription, seats, an upgrade, add-on seats, compute and storage
packs, a renewal, and a promotion's discount), the invoice in Stripe (the fake Stripe API,
over HTTP) has the quote's total and the quote's lines, to the cent, and was paid in full."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.clock import FixedClock
from app.config import Settings
from app.db.tables import Invoice, Promotion
from resolvers.ids import to_global_id
from tests.api.orders_support import ACTION_CASES, acme_world, at, place, quote
from tests.fakes.stripe import StripeFake
from tests.support import factories as f
from tests.support.graphql import Api

pytestmark = pytest.mark.parametrize("billing", ["stripe"])

NEW = {"createSubscription": {"plan": "premium", "seats": 5, "deployment": {"externalId": "ns-q"}}}


async def _stripe_invoice(db: AsyncSession, fake: StripeFake, number: str) -> dict[str, Any]:
    """The invoice as Stripe holds it, with its lines' amounts."""
    stmt = sa.select(col(Invoice.provider_ref)).where(col(Invoice.number) == number)
    ref = (await db.scalars(stmt)).one()
    assert ref is not None and ref.startswith("in_")
    invoice = dict(fake.store.objects[ref])
    invoice["line_amounts"] = [fake.store.objects[line]["amount"] for line in invoice["lines"]]
    return invoice


async def _assert_billed_as_quoted(
    api: Api, db: AsyncSession, fake: StripeFake, owner: str, **order: Any
) -> dict[str, Any]:
    q = await quote(api, owner, **order)
    assert q["__typename"] == "Quote", q

    placed = await place(api, owner, q["token"])

    assert placed["order"]["status"] == "COMPLETED", placed
    billed = await _stripe_invoice(db, fake, placed["order"]["invoice"]["number"])
    total = int(q["total"]["amount"])
    assert (billed["total"], billed["amount_paid"], billed["status"]) == (total, total, "paid")
    assert billed["line_amounts"] == [int(line["amount"]["amount"]) for line in q["lines"]]
    assert len(fake.objects("charge")) == 1
    return q


@pytest.mark.parametrize(("plan", "action", "day"), ACTION_CASES)
async def test_each_action_is_billed_in_stripe_as_quoted(
    api: Api,
    db: AsyncSession,
    settings: Settings,
    clock: FixedClock,
    stripe_fake: StripeFake,
    plan: str,
    action: dict[str, Any],
    day: date,
) -> None:
    acme = await acme_world(db, settings)
    acme["sub"].plan_id = (await f.catalog(db))[plan].id or 0
    await db.flush()
    clock.set(at(day))
    await _assert_billed_as_quoted(
        api, db, stripe_fake, acme["owner"], subscriptionId=acme["id"], actions=[action]
    )


async def test_a_new_subscription_is_billed_in_stripe_as_quoted(
    api: Api, db: AsyncSession, settings: Settings, clock: FixedClock, stripe_fake: StripeFake
) -> None:
    acme = await acme_world(db, settings)
    await f.billing_account(db, acme["customer"])
    clock.set(at(date(2026, 6, 1)))
    customer = to_global_id("Customer", acme["customer"].id)
    q = await _assert_billed_as_quoted(
        api, db, stripe_fake, acme["owner"], customerId=customer, actions=[NEW]
    )
    assert q["total"] == {"amount": "174000"}


async def test_a_prorated_promoted_order_is_billed_in_stripe_as_quoted(
    api: Api, db: AsyncSession, settings: Settings, clock: FixedClock, stripe_fake: StripeFake
) -> None:
    acme = await acme_world(db, settings)
    db.add(Promotion(code="SPRING20", percent_off=20, max_redemptions=1))
    await db.flush()
    clock.set(at(date(2026, 7, 2)))
    q = await _assert_billed_as_quoted(
        api,
        db,
        stripe_fake,
        acme["owner"],
        subscriptionId=acme["id"],
        actions=[{"addSeats": {"seats": 5}}],
        promoCode="spring20",
    )
    # 5 seats for 183 of 365 days, less 20 %: worked example 1 with a discount line.
    assert (q["subtotal"], q["discount"], q["total"]) == (
        {"amount": "87238"},
        {"amount": "17448"},
        {"amount": "69790"},
    )
