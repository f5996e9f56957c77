"""A promo code on an upgrade discounts what the customer pays: the new plan's charge net of
the credit for the unused old plan (docs/api-guide.md, Buying: promo codes)."""

from __future__ import annotations

from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from app.clock import FixedClock
from app.config import Settings
from app.db.tables import Promotion
from app.domain.enums import MemberRole
from resolvers.ids import to_global_id
from tests.api.orders_support import at, place, quote
from tests.support import factories as f
from tests.support.graphql import Api, user_token


async def test_ten_percent_off_worked_example_2_takes_ten_percent_of_the_net(
    api: Api, db: AsyncSession, settings: Settings, clock: FixedClock
) -> None:
    customer = await f.customer(db)
    owner = user_token(settings, await f.user(db, member_of=customer, role=MemberRole.OWNER))
    sub = await f.subscription(db, customer, "premium", seats=10)
    db.add(Promotion(code="UP10", percent_off=10))
    await db.flush()
    clock.set(at(date(2026, 4, 1)))  # 275 of 365 days remain
    credit = -262_192  # 10 x 34 800 x 275 / 365 = 262 191.78
    charge = 895_068  # 10 x 118 800 x 275 / 365 = 895 068.49
    net = charge + credit  # 632 876
    discount = 63_288  # 10% of 632 876 = 63 287.6, half up (the gross would give 89 507)

    q = await quote(
        api,
        owner,
        subscriptionId=to_global_id("Subscription", sub.id or 0),
        actions=[{"changePlan": {"plan": "ultimate"}}],
        promoCode="UP10",
    )
    placed = await place(api, owner, q["token"])

    assert [(line["kind"], int(line["amount"]["amount"])) for line in q["lines"]] == [
        ("CREDIT", credit), ("CHARGE", charge), ("DISCOUNT", -discount)]  # fmt: skip
    assert [int(q[k]["amount"]) for k in ("subtotal", "discount", "total")] == [
        net, discount, net - discount]  # fmt: skip
    invoice = placed["order"]["invoice"]
    assert int(invoice["total"]["amount"]) == int(invoice["amountPaid"]["amount"]) == 569_588
    assert [int(line["amount"]["amount"]) for line in invoice["lines"]] == [
        credit, charge, -discount]  # fmt: skip
