"""Large accounts: amounts beyond 2^31 cents are quoted, charged, stored, renewed and read back
exactly (`Money.amount` is a `MinorUnits` string), and seats beyond the product's maximum are
refused with a typed error that changes nothing.

Every expected figure is worked out by hand from the demo catalog (docs/domain.md section 2):
Ultimate 118,800 cents per seat per year, Duo Enterprise 46,800 cents per seat per year.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app.clock import FixedClock
from app.config import Settings
from app.db.tables import Customer, Invoice, Order, Payment
from app.runtime import Runtime
from resolvers.ids import to_global_id
from tests.api.orders_support import at, counts, place, quote
from tests.services.lifecycle_support import ledger, run_at
from tests.support import factories as f
from tests.support.graphql import Api, user_token
from tests.support.pdf_text import pdf_pages
from tests.support.snapshots import table_counts

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
    assert (renewal["amountPaid"], renewal["amountDue"]) == (
        {"amount": "4734000000"},
        {"amount": "0"},
    )
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


async def test_an_order_of_20000_ultimate_seats_with_duo_enterprise_is_stored_and_read_exactly(
    big: dict[str, Any], api: Api, db: AsyncSession, clock: FixedClock
) -> None:
    # On the first day of the term: 20,000 x 118,800 = 2,376,000,000 and
    # 20,000 x 46,800 = 936,000,000, 3,312,000,000 cents in all ($33,120,000.00).
    clock.set(at(date(2026, 1, 1)))
    order = _create(big["customer"], "ultimate", 20_000, "ns-twenty")
    order["actions"].append({"addAddOn": {"addOn": "duo_enterprise", "seats": 20_000}})
    q = await quote(api, big["owner"], **order)
    assert [(line["unitAmount"]["amount"], line["amount"]["amount"]) for line in q["lines"]] == [
        ("118800", "2376000000"),
        ("46800", "936000000"),
    ]
    assert (q["subtotal"], q["total"]) == ({"amount": "3312000000"}, {"amount": "3312000000"})

    placed = (await place(api, big["owner"], q["token"]))["order"]

    assert (placed["status"], placed["total"]) == ("COMPLETED", {"amount": "3312000000"})
    invoice = placed["invoice"]
    assert (invoice["status"], invoice["total"], invoice["amountPaid"]) == (
        "PAID",
        {"amount": "3312000000"},
        {"amount": "3312000000"},
    )
    # What was stored reads back the same, through the API and in every money table.
    data = await api.data(INVOICES, {"number": placed["subscription"]["number"]}, big["owner"])
    [stored] = data["subscription"]["invoices"]["nodes"]
    assert stored["total"]["formatted"] == "$33,120,000.00"
    assert stored["payments"] == [{"status": "SUCCEEDED", "amount": {"amount": "3312000000"}}]
    for column in (Order.total, Invoice.total, Payment.amount):
        assert list((await db.scalars(sa.select(column))).all()) == [3_312_000_000]
    assert (await ledger(db))[1] == [(3_312_000_000, "SUCCEEDED")]
    pdf = await api.client.get(
        f"/invoices/{stored['number']}.pdf", headers={"Authorization": f"Bearer {big['owner']}"}
    )
    assert pdf.status_code == 200
    assert "Total (USD) $33,120,000.00" in pdf_pages(pdf.content)[-1]


async def test_a_credit_beyond_minus_2_31_cents_is_quoted_exactly(
    big: dict[str, Any], api: Api, db: AsyncSession, clock: FixedClock, settings: Settings
) -> None:
    # Upgrading 70,000 Premium seats on the first day of the term: a credit of
    # 70,000 x 34,800 = 2,436,000,000 and a charge of 70,000 x 118,800 = 8,316,000,000.
    sub = await f.subscription(db, big["customer"], seats=70_000)
    clock.set(at(date(2026, 1, 1)))
    q = await quote(
        api,
        big["owner"],
        subscriptionId=to_global_id("Subscription", sub.id or 0),
        actions=[{"changePlan": {"plan": "ultimate"}}],
    )
    assert [(line["kind"], line["amount"]["amount"]) for line in q["lines"]] == [
        ("CREDIT", "-2436000000"),
        ("CHARGE", "8316000000"),
    ]
    assert q["total"] == {"amount": "5880000000"}


async def test_the_product_maximum_of_seats_is_quoted(
    big: dict[str, Any], api: Api, clock: FixedClock
) -> None:
    # 1,000,000 x 118,800 = 118,800,000,000 cents.
    clock.set(at(date(2026, 1, 1)))
    q = await quote(api, big["owner"], **_create(big["customer"], "ultimate", 1_000_000, "ns-max"))
    assert q["total"] == {"amount": "118800000000"}


@pytest.mark.parametrize(
    "action",
    [
        {"createSubscription": {"plan": "ultimate", "seats": 1_000_001}},
        {"addSeats": {"seats": 999_991}},  # 10 seats + 999,991 = 1,000,001
        {"renew": {"seats": 1_000_001}},
    ],
    ids=["create", "add-seats", "renew"],
)
async def test_seats_beyond_the_product_maximum_are_refused_and_change_nothing(
    big: dict[str, Any], api: Api, db: AsyncSession, clock: FixedClock, action: dict[str, Any]
) -> None:
    sub = await f.subscription(db, big["customer"], "ultimate", seats=10)
    if "createSubscription" in action:
        action["createSubscription"]["deployment"] = {"externalId": "ns-too-big"}
        target = {"customerId": to_global_id("Customer", big["customer"].id or 0)}
    else:
        target = {"subscriptionId": to_global_id("Subscription", sub.id or 0)}
    clock.set(at(date(2026, 12, 20)))  # inside the renewal window
    before = await table_counts(db)

    refused = await quote(api, big["owner"], **target, actions=[action])

    assert refused == {
        "__typename": "RuleViolation",
        "code": "SEAT_LIMIT_EXCEEDED",
        "message": "A subscription has at most 1,000,000 seats; contact sales for more.",
    }
    assert await table_counts(db) == before
    assert (await counts(db)) == {"order": 0, "invoice": 0, "payment": 0, "ledger_payment": 0}
