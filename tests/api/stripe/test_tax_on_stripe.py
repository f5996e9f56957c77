"""With BILLING_PROVIDER=stripe (the fake Stripe API, over HTTP), a taxed order is billed in
Stripe as quoted: the priced lines, then our tax as one more line, the invoice's total the
quote's taxed total, paid in full by one charge (docs/tax.md)."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.clock import FixedClock
from app.config import Settings
from app.db.tables import BillingAccount, Invoice
from tests.api.orders_support import acme_world, at, place
from tests.fakes.stripe import StripeFake
from tests.support.graphql import Api

pytestmark = pytest.mark.parametrize("billing", ["stripe"])

QUOTE = """mutation($input: OrderInput!) { orderQuote(input: $input) {
  __typename ... on Quote { token tax { amount } total { amount } lines { amount { amount } } }
  ... on UserError { code } } }"""


async def test_a_vat_order_is_billed_in_stripe_with_its_tax_line(
    api: Api, db: AsyncSession, settings: Settings, clock: FixedClock, stripe_fake: StripeFake
) -> None:
    acme = await acme_world(db, settings)
    account = await db.get(BillingAccount, acme["sub"].billing_account_id)
    assert account is not None
    account.billing_country = "DE"
    await db.flush()
    clock.set(at(date(2026, 4, 1)))
    data = await api.data(
        QUOTE,
        {
            "input": {
                "subscriptionId": acme["id"],
                "actions": [{"changePlan": {"plan": "ultimate"}}],
            }
        },
        token=acme["owner"],
    )
    quoted = data["orderQuote"]
    assert (quoted["tax"], quoted["total"]) == ({"amount": "120247"}, {"amount": "753123"})

    placed = await place(api, acme["owner"], quoted["token"])

    assert placed["order"]["status"] == "COMPLETED", placed
    number = placed["order"]["invoice"]["number"]
    ref = (
        await db.scalars(sa.select(col(Invoice.provider_ref)).where(col(Invoice.number) == number))
    ).one()
    assert ref is not None
    billed = stripe_fake.store.objects[ref]
    lines = [stripe_fake.store.objects[line] for line in billed["lines"]]
    assert [line["amount"] for line in lines] == [-262_192, 895_068, 120_247]
    assert lines[2]["description"] == "VAT 19% (DE)"
    assert (billed["total"], billed["amount_paid"], billed["status"]) == (753_123, 753_123, "paid")
    assert len(stripe_fake.objects("charge")) == 1
