"""An order whose total is zero (a scheduled downgrade) is not invoiced: no invoice, no
payment, nothing at the billing provider; the order links to its subscription only."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app.clock import FixedClock
from app.config import Settings
from app.db.tables import LedgerInvoice, Order, Promotion
from app.domain.enums import MemberRole, OrderStatus
from resolvers.ids import to_global_id
from tests.api.orders_support import at, counts, place, quote
from tests.support import factories as f
from tests.support.graphql import Api, user_token

PENDING = """query($n: String!) { subscription(number: $n) {
  plan { code } pendingChange { effectiveOn plan { code } } } }"""


async def test_a_scheduled_downgrade_issues_no_invoice_and_no_payment(
    api: Api, db: AsyncSession, settings: Settings, clock: FixedClock
) -> None:
    customer = await f.customer(db)
    owner = user_token(settings, await f.user(db, member_of=customer, role=MemberRole.OWNER))
    sub = await f.subscription(db, customer, "ultimate", seats=10)
    clock.set(at(date(2026, 5, 20)))
    q = await quote(
        api,
        owner,
        subscriptionId=to_global_id("Subscription", sub.id or 0),
        actions=[{"changePlan": {"plan": "premium"}}],
    )
    assert int(q["total"]["amount"]) == 0, q
    before = await counts(db)
    ledger_before = await _ledger_invoices(db)

    placed = await place(api, owner, q["token"], key="downgrade-1")

    order = placed["order"]
    assert (order["status"], int(order["total"]["amount"]), order["invoice"]) == (
        "COMPLETED", 0, None)  # fmt: skip
    assert order["subscription"]["number"] == sub.number
    assert await counts(db) == before | {"order": before["order"] + 1}
    assert await _ledger_invoices(db) == ledger_before
    row = (await db.scalars(sa.select(Order).where(Order.idempotency_key == "downgrade-1"))).one()
    assert (row.status, row.subscription_id, row.result) == (
        OrderStatus.COMPLETED, sub.id, {"invoice_id": None})  # fmt: skip
    data = await api.data(PENDING, {"n": sub.number}, token=owner)
    assert data["subscription"] == {
        "plan": {"code": "ultimate"},
        "pendingChange": {"effectiveOn": "2027-01-01", "plan": {"code": "premium"}},
    }
    replay = await place(api, owner, q["token"], key="downgrade-1")
    assert replay == placed
    assert await counts(db) == before | {"order": before["order"] + 1}


async def _ledger_invoices(db: AsyncSession) -> int:
    stmt = sa.select(sa.func.count()).select_from(LedgerInvoice)
    return int((await db.execute(stmt)).scalar_one())


async def test_a_fully_discounted_order_is_not_invoiced_and_redeems_its_promotion_once(
    api: Api, db: AsyncSession, settings: Settings, clock: FixedClock
) -> None:
    customer = await f.customer(db)
    owner = user_token(settings, await f.user(db, member_of=customer, role=MemberRole.OWNER))
    sub = await f.subscription(db, customer, "premium", seats=10)
    promotion = Promotion(code="FREE100", percent_off=100, max_redemptions=5)
    db.add(promotion)
    await db.flush()
    clock.set(at(date(2026, 7, 2)))
    q = await quote(
        api,
        owner,
        subscriptionId=to_global_id("Subscription", sub.id or 0),
        actions=[{"addSeats": {"seats": 5}}],
        promoCode="FREE100",
    )
    assert [int(q[k]["amount"]) for k in ("subtotal", "discount", "total")] == [87_238, 87_238, 0]
    before = await counts(db)

    placed = await place(api, owner, q["token"], key="free-seats")
    again = await place(api, owner, q["token"], key="free-seats")

    assert placed == again
    assert (placed["order"]["invoice"], placed["order"]["subscription"]["seats"]) == (None, 15)
    assert await counts(db) == before | {"order": before["order"] + 1}
    await db.refresh(promotion)
    assert promotion.redemptions == 1
