"""A customer whose automatic renewal was declined renews by hand during grace: the order
renews once, and the declined renewal's open invoice is voided and never retried."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.clock import FixedClock
from app.config import Settings
from app.db.tables import BillingAccount, Membership, PortalUser
from app.domain.enums import SubscriptionStatus
from app.runtime import Runtime
from resolvers.ids import to_global_id
from tests.api.orders_support import place, quote
from tests.services.lifecycle_support import at, invoices_of, ledger, reload, run_at, subscribed
from tests.support.graphql import Api, user_token


async def test_a_manual_renewal_in_grace_supersedes_the_declined_one(
    db: AsyncSession, api: Api, runtime: Runtime, clock: FixedClock, settings: Settings
) -> None:
    sub = await subscribed(db, seats=10, payment_method="pm_card_declined")
    await run_at(runtime, clock, at(date(2027, 1, 1)))
    sub = await reload(db, sub)
    assert sub.status is SubscriptionStatus.GRACE
    [declined] = await invoices_of(db, sub)
    assert declined.status == "OPEN"
    account = await db.get(BillingAccount, sub.billing_account_id)
    assert account is not None
    account.payment_method = "pm_card_visa"  # the customer fixes the card ...
    owner = await db.get(
        PortalUser,
        await db.scalar(
            sa.select(col(Membership.user_id)).where(col(Membership.customer_id) == sub.customer_id)
        ),
    )
    assert owner is not None
    token = user_token(settings, owner)
    clock.set(at(date(2027, 1, 2)))
    order = {
        "subscriptionId": to_global_id("Subscription", sub.id or 0),
        "actions": [{"renew": {"seats": 10}}],
    }
    q = await quote(api, token, **order)  # ... and renews by hand
    placed = await place(api, token, q["token"])
    assert placed["order"]["status"] == "COMPLETED"

    for day in (date(2027, 1, 4), date(2027, 1, 8), date(2027, 1, 12), date(2027, 1, 15)):
        await run_at(runtime, clock, at(day))  # the retry days and the expiry day pass

    sub = await reload(db, sub)
    assert (sub.status, sub.term_start, sub.term_end) == (
        "ACTIVE",
        date(2027, 1, 1),
        date(2028, 1, 1),
    )
    voided, paid = await invoices_of(db, sub)
    assert (voided.id, voided.status) == (declined.id, "VOID")
    assert (paid.status, paid.total) == ("PAID", 348_000)
    _, payments = await ledger(db)
    assert payments == [(348_000, "FAILED"), (348_000, "SUCCEEDED")]
