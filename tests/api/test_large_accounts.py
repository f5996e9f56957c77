"""Large accounts: amounts beyond 2^31 cents are quoted, charged, stored, renewed and read back
exactly (`Money.amount` is a `MinorUnits` string), and seats beyond the product's maximum are
refused with a typed error that changes nothing.

Every expected figure is worked out by hand from the demo catalog (DOMAIN.md section 2):
Ultimate 118,800 cents per seat per year, Duo Enterprise 46,800 cents per seat per year.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.clock import FixedClock
from app.config import Settings
from app.db.tables import Customer
from app.runtime import Runtime
from resolvers.ids import to_global_id
from tests.api.orders_support import at, counts, place, quote
from tests.services.lifecycle_support import ledger, run_at
from tests.support import factories as f
from tests.support.graphql import Api, user_token
from tests.support.snapshots import table_counts

INT32_MAX = 2**31 - 1

INVOICES = """query($number: String!) { subscription(number: $number) {
  status seats termStart termEnd
  invoices(first: 10) { nodes {
    number status total { amount currency formatted } amountPaid { amount } amountDue { amount }
    lines { description quantity unitAmount { amount } amount { amount } }
    payments { status amount { amount } } } } } }"""


@pytest.fixture
async def big(db: AsyncSession, settings: Settings) -> dict[str, Any]:
    await f.catalog(db)
    customer = await f.customer(db, name="Big Corp")
    owner = await f.user(db, member_of=customer)
    await f.billing_account(db, customer)
    return {"customer": customer, "owner": user_token(settings, owner)}


def _create(customer: Customer, plan: str, seats: int, namespace: str) -> dict[str, Any]:
    return {
        "customerId": to_global_id("Customer", customer.id or 0),
        "actions": [
            {
                "createSubscription": {
                    "plan": plan,
                    "seats": seats,
                    "deployment": {"externalId": namespace},
                }
            }
        ],
    }


async def test_a_30000_seat_ultimate_subscription_with_duo_enterprise_renews_exactly(
    big: dict[str, Any], api: Api, db: AsyncSession, runtime: Runtime, clock: FixedClock
) -> None:
    # Bought on the first day of its term: 30,000 x 118,800 = 3,564,000,000 cents.
    clock.set(at(date(2026, 1, 1)))
    q = await quote(api, big["owner"], **_create(big["customer"], "ultimate", 30_000, "ns-big"))
    assert q["total"] == {"amount": "3564000000"}
    created = (await place(api, big["owner"], q["token"], key="create"))["order"]
    assert created["status"] == "COMPLETED"
    assert created["invoice"]["amountPaid"] == {"amount": "3564000000"}
    number = created["subscription"]["number"]

    # 25,000 Duo Enterprise seats on 2026-07-02, 183 of 365 days left:
    # 25,000 x 46,800 x 183 / 365 = 214,110,000,000 / 365 = 586,602,739.73 -> 586,602,740.
    clock.set(at(date(2026, 7, 2)))
    subscription_id = await _subscription_id(api, big["owner"], number)
    add_on = {"addAddOn": {"addOn": "duo_enterprise", "seats": 25_000}}
    q = await quote(api, big["owner"], subscriptionId=subscription_id, actions=[add_on])
    assert q["total"] == {"amount": "586602740"}
    assert (await place(api, big["owner"], q["token"], key="duo"))["order"]["status"] == (
        "COMPLETED"
    )

    # The renewal job at the term end: 30,000 x 118,800 = 3,564,000,000 for the plan and
    # 25,000 x 46,800 = 1,170,000,000 for Duo Enterprise, 4,734,000,000 in all.
    await run_at(runtime, clock, at(date(2027, 1, 1)))

    data = await api.data(INVOICES, {"number": number}, token=big["owner"])
    sub = data["subscription"]
    assert (sub["status"], sub["seats"], sub["termStart"], sub["termEnd"]) == (
        "ACTIVE",
        30_000,
        "2027-01-01",
        "2028-01-01",
    )
    renewal = next(i for i in sub["invoices"]["nodes"] if i["total"]["amount"] == "4734000000")
    assert renewal["status"] == "PAID"
    assert renewal["total"] == {
        "amount": "4734000000",
        "currency": "USD",
        "formatted": "$47,340,000.00",
    }
    assert (renewal["amountPaid"], renewal["amountDue"]) == ({"amount": "4734000000"}, {"amount": "0"})
    assert [
        (line["quantity"], line["unitAmount"]["amount"], line["amount"]["amount"])
        for line in renewal["lines"]
    ] == [(30_000, "118800", "3564000000"), (25_000, "46800", "1170000000")]
    assert renewal["payments"] == [{"status": "SUCCEEDED", "amount": {"amount": "4734000000"}}]
    # Charged once, for exactly the renewal total, after the two orders' payments.
    _, payments = await ledger(db)
    assert payments == [
        (3_564_000_000, "SUCCEEDED"),
        (586_602_740, "SUCCEEDED"),
        (4_734_000_000, "SUCCEEDED"),
    ]


async def _subscription_id(api: Api, token: str, number: str) -> str:
    data = await api.data(
        "query($n: String!) { subscription(number: $n) { id } }", {"n": number}, token=token
    )
    return str(data["subscription"]["id"])
