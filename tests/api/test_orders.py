"""Quotes and orders over the API: exact cents, quote == invoice, exactly-once placement,
and refusals that change nothing."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.clock import FixedClock
from app.config import Settings
from app.db.tables import AuditEvent, OutboxMessage, Promotion
from app.domain.enums import Channel, CustomerKind, ReconciliationMode, TokenKind
from resolvers.ids import to_global_id
from tests.api.orders_support import (
    ACTION_CASES,
    acme_world,
    at,
    counts,
    invoices_of,
    place,
    quote,
    refreshed,
)
from tests.support import factories as f
from tests.support.graphql import Api, api_token, error_codes, user_token
from tests.support.snapshots import table_counts


@pytest.fixture
async def acme(db: AsyncSession, settings: Settings) -> dict[str, Any]:
    return await acme_world(db, settings)


def actions(*items: dict[str, Any]) -> list[dict[str, Any]]:
    return list(items)


async def test_worked_example_1_add_seats(
    acme: dict[str, Any], api: Api, db: AsyncSession, clock: FixedClock
) -> None:
    clock.set(at(date(2026, 7, 2)))
    q = await quote(
        api, acme["owner"], subscriptionId=acme["id"], actions=actions({"addSeats": {"seats": 5}})
    )
    assert q["total"] == {"amount": "87238"}
    assert [line["amount"]["amount"] for line in q["lines"]] == ["87238"]

    placed = await place(api, acme["owner"], q["token"])

    order = placed["order"]
    assert order["status"] == "COMPLETED" and order["total"] == {"amount": "87238"}
    assert order["invoice"]["total"] == {"amount": "87238"}
    assert order["invoice"]["status"] == "PAID"
    assert order["invoice"]["amountPaid"] == {"amount": "87238"}
    assert order["invoice"]["payments"] == [{"status": "SUCCEEDED"}]
    assert order["subscription"]["seats"] == 15
    assert (await refreshed(db, acme["sub"])).seats == 15


async def test_worked_example_2_upgrade(
    acme: dict[str, Any], api: Api, db: AsyncSession, clock: FixedClock
) -> None:
    clock.set(at(date(2026, 4, 1)))
    q = await quote(
        api,
        acme["owner"],
        subscriptionId=acme["id"],
        actions=actions({"changePlan": {"plan": "ultimate"}}),
    )
    assert [(line["kind"], line["amount"]["amount"]) for line in q["lines"]] == [
        ("CREDIT", "-262192"),
        ("CHARGE", "895068"),
    ]
    assert q["total"] == {"amount": "632876"}

    order = (await place(api, acme["owner"], q["token"]))["order"]

    assert order["invoice"]["total"] == {"amount": "632876"}
    assert [line["amount"]["amount"] for line in order["invoice"]["lines"]] == ["-262192", "895068"]
    assert order["subscription"]["plan"] == {"code": "ultimate"}
    sub = await refreshed(db, acme["sub"])
    assert (sub.term_end, sub.max_seats_used) == (date(2027, 1, 1), 8)


async def test_worked_example_3_storage_packs(
    acme: dict[str, Any], api: Api, clock: FixedClock
) -> None:
    clock.set(at(date(2026, 10, 1)))
    q = await quote(
        api,
        acme["owner"],
        subscriptionId=acme["id"],
        actions=actions({"buyPack": {"pack": "storage_10gib", "quantity": 2}}),
    )
    assert q["total"] == {"amount": "3025"}
    order = (await place(api, acme["owner"], q["token"]))["order"]
    assert order["invoice"]["total"] == {"amount": "3025"}


@pytest.mark.parametrize(("plan", "action", "day"), ACTION_CASES)
async def test_quote_total_equals_invoice_total(
    acme: dict[str, Any],
    api: Api,
    db: AsyncSession,
    clock: FixedClock,
    plan: str,
    action: dict[str, Any],
    day: date,
) -> None:
    acme["sub"].plan_id = (await f.catalog(db))[plan].id or 0
    await db.flush()
    clock.set(at(day))
    q = await quote(api, acme["owner"], subscriptionId=acme["id"], actions=[action])
    assert q["__typename"] == "Quote", q

    order = (await place(api, acme["owner"], q["token"]))["order"]

    assert order["invoice"]["total"] == q["total"]
    assert [line["amount"] for line in order["invoice"]["lines"]] == [
        line["amount"] for line in q["lines"]
    ]


async def test_new_subscription_for_a_customer(
    acme: dict[str, Any], api: Api, db: AsyncSession, clock: FixedClock
) -> None:
    await f.billing_account(db, acme["customer"])
    clock.set(at(date(2026, 6, 1)))
    q = await quote(
        api,
        acme["owner"],
        customerId=to_global_id("Customer", acme["customer"].id),
        actions=[
            {
                "createSubscription": {
                    "plan": "premium",
                    "seats": 5,
                    "deployment": {"externalId": "ns-new"},
                }
            }
        ],
    )
    assert q["total"] == {"amount": "174000"}

    order = (await place(api, acme["owner"], q["token"]))["order"]

    assert order["subscription"]["seats"] == 5
    assert order["subscription"]["number"].startswith("A-S")
    assert order["invoice"]["total"] == {"amount": "174000"}


async def test_same_key_places_once(acme: dict[str, Any], api: Api, db: AsyncSession) -> None:
    q = await quote(
        api, acme["owner"], subscriptionId=acme["id"], actions=actions({"addSeats": {"seats": 1}})
    )
    before = await counts(db)

    first = await place(api, acme["owner"], q["token"], key="same")
    second = await place(api, acme["owner"], q["token"], key="same")

    assert first == second
    assert await counts(db) == {k: v + 1 for k, v in before.items()}
    assert (await refreshed(db, acme["sub"])).seats == 11


async def test_same_key_with_another_quote_is_refused(
    acme: dict[str, Any], api: Api, db: AsyncSession
) -> None:
    one = await quote(
        api, acme["owner"], subscriptionId=acme["id"], actions=actions({"addSeats": {"seats": 1}})
    )
    two = await quote(
        api, acme["owner"], subscriptionId=acme["id"], actions=actions({"addSeats": {"seats": 2}})
    )
    await place(api, acme["owner"], one["token"], key="k")
    before = await table_counts(db)

    refused = await place(api, acme["owner"], two["token"], key="k")

    assert refused["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert await table_counts(db) == before
    assert (await refreshed(db, acme["sub"])).seats == 11


async def test_declined_card_changes_nothing_and_voids_the_invoice(
    acme: dict[str, Any], api: Api, db: AsyncSession
) -> None:
    account = await db.get(f.BillingAccount, acme["sub"].billing_account_id)
    assert account is not None
    account.payment_method = "pm_card_declined"
    await db.flush()
    q = await quote(
        api, acme["owner"], subscriptionId=acme["id"], actions=actions({"addSeats": {"seats": 5}})
    )

    declined = await place(api, acme["owner"], q["token"], key="d")
    again = await place(api, acme["owner"], q["token"], key="d")

    assert declined == again
    assert (declined["code"], declined["declineCode"]) == ("PAYMENT_DECLINED", "card_declined")
    sub = await refreshed(db, acme["sub"])
    assert (sub.seats, sub.lock_version) == (10, 1)
    [invoice] = await invoices_of(db, sub.id or 0)
    assert (invoice.status.value, invoice.amount_paid) == ("VOID", 0)


async def test_stale_quote_is_refused(
    acme: dict[str, Any], api: Api, db: AsyncSession, clock: FixedClock
) -> None:
    clock.set(at(date(2026, 4, 1)))
    upgrade = await quote(
        api,
        acme["owner"],
        subscriptionId=acme["id"],
        actions=actions({"changePlan": {"plan": "ultimate"}}),
    )
    seats = await quote(
        api, acme["owner"], subscriptionId=acme["id"], actions=actions({"addSeats": {"seats": 2}})
    )
    await place(api, acme["owner"], upgrade["token"], key="upgrade")
    before = await table_counts(db)

    stale = await place(api, acme["owner"], seats["token"], key="seats")

    assert stale["code"] == "QUOTE_STALE"
    after = await table_counts(db)
    assert {k: after[k] - before[k] for k in after if after[k] != before[k]} == {
        "order": 1,
        "audit_event": 1,
    }  # the refused order is recorded as FAILED, nothing else
    assert (await refreshed(db, acme["sub"])).seats == 10


async def test_expired_quote_is_refused(
    acme: dict[str, Any], api: Api, db: AsyncSession, clock: FixedClock
) -> None:
    q = await quote(
        api, acme["owner"], subscriptionId=acme["id"], actions=actions({"addSeats": {"seats": 2}})
    )
    clock.advance(timedelta(minutes=31))
    before = await table_counts(db)

    expired = await place(api, acme["owner"], q["token"])

    assert expired["code"] == "QUOTE_EXPIRED"
    assert await table_counts(db) == before


async def test_forged_token_is_refused(acme: dict[str, Any], api: Api, db: AsyncSession) -> None:
    q = await quote(
        api, acme["owner"], subscriptionId=acme["id"], actions=actions({"addSeats": {"seats": 2}})
    )
    body, _, signature = q["token"].partition(".")
    before = await table_counts(db)

    forged = await place(api, acme["owner"], f"{body}x.{signature}")

    assert forged["code"] == "VALIDATION"
    assert await table_counts(db) == before


async def test_viewer_may_quote_but_not_place(
    acme: dict[str, Any], api: Api, db: AsyncSession
) -> None:
    q = await quote(
        api, acme["viewer"], subscriptionId=acme["id"], actions=actions({"addSeats": {"seats": 2}})
    )
    assert q["__typename"] == "Quote"
    before = await table_counts(db)

    body = await api.query(
        """mutation($t: String!) { orderPlace(quoteToken: $t, idempotencyKey: "v")
                              { __typename } }""",
        {"t": q["token"]},
        token=acme["viewer"],
    )

    assert error_codes(body) == ["FORBIDDEN"]
    assert await table_counts(db) == before


async def test_partner_managed_subscription_refuses_self_service(
    api: Api, db: AsyncSession, settings: Settings
) -> None:
    partner = await f.partner(db)
    customer = await f.customer(
        db, kind=CustomerKind.PARTNER_MANAGED, managing_partner_id=partner.id
    )
    owner = user_token(settings, await f.user(db, member_of=customer))
    sub = await f.subscription(
        db,
        customer,
        account=await f.billing_account(db, partner),
        partner_id=partner.id,
        channel=Channel.PARTNER,
        reconciliation_mode=ReconciliationMode.ANNUAL_TRUE_UP,
    )
    partner_token = await api_token(db, TokenKind.PARTNER, partner_id=partner.id)
    order = {
        "subscriptionId": to_global_id("Subscription", sub.id or 0),
        "actions": [{"addSeats": {"seats": 5}}],
    }
    before = await table_counts(db)

    refused = await quote(api, owner, **order)

    assert refused["code"] == "MANAGED_BY_PARTNER"
    assert await table_counts(db) == before
    by_partner = await quote(api, partner_token, **order)
    placed = await place(api, partner_token, by_partner["token"])
    assert placed["order"]["subscription"]["seats"] == 15


@pytest.mark.parametrize(
    ("action", "code"),
    [
        ({"addSeats": {"seats": 0}}, "VALIDATION"),
        ({"addSeats": {"seats": -3}}, "VALIDATION"),
        ({"changePlan": {"plan": "platinum"}}, "VALIDATION"),
        ({"addAddOn": {"addOn": "duo_pro", "seats": 11}}, "ADDON_EXCEEDS_SEATS"),
        ({"addAddOn": {"addOn": "duo_enterprise", "seats": 1}}, "PLAN_NOT_ELIGIBLE"),
        ({"renew": {}}, "OUTSIDE_RENEWAL_WINDOW"),
    ],
)
async def test_rule_violations_are_typed_and_change_nothing(
    acme: dict[str, Any], api: Api, db: AsyncSession, action: dict[str, Any], code: str
) -> None:
    before = await table_counts(db)
    refused = await quote(api, acme["owner"], subscriptionId=acme["id"], actions=[action])
    assert refused["code"] == code
    assert await table_counts(db) == before


async def test_renewal_below_billable_users_is_refused(
    acme: dict[str, Any], api: Api, clock: FixedClock
) -> None:
    clock.set(at(date(2026, 12, 20)))
    refused = await quote(
        api, acme["owner"], subscriptionId=acme["id"], actions=[{"renew": {"seats": 7}}]
    )
    assert refused["code"] == "SEATS_BELOW_BILLABLE_USERS"


async def test_promotion_discounts_and_counts_redemptions(
    acme: dict[str, Any], api: Api, db: AsyncSession, clock: FixedClock
) -> None:
    db.add(Promotion(code="SPRING20", percent_off=20, max_redemptions=1))
    await db.flush()
    clock.set(at(date(2026, 7, 2)))
    order = {
        "subscriptionId": acme["id"],
        "actions": [{"addSeats": {"seats": 5}}],
        "promoCode": "spring20",
    }
    q = await quote(api, acme["owner"], **order)
    assert (q["subtotal"], q["discount"], q["total"]) == (
        {"amount": "87238"},
        {"amount": "17448"},
        {"amount": "69790"},
    )
    assert q["lines"][-1]["kind"] == "DISCOUNT"

    placed = await place(api, acme["owner"], q["token"])

    assert placed["order"]["invoice"]["total"] == {"amount": "69790"}
    again = await quote(api, acme["owner"], **order)
    assert again["code"] == "PROMO_CODE_EXHAUSTED"


async def test_placing_writes_audit_and_queues_provisioning(
    acme: dict[str, Any], api: Api, db: AsyncSession
) -> None:
    q = await quote(
        api, acme["owner"], subscriptionId=acme["id"], actions=actions({"addSeats": {"seats": 1}})
    )
    await place(api, acme["owner"], q["token"])

    events = (await db.scalars(select(AuditEvent))).all()
    messages = (await db.scalars(select(OutboxMessage))).all()
    assert [(e.action, e.before["seats"], e.after["seats"]) for e in events] == [
        ("order.placed", 10, 11)
    ]
    assert sorted(m.topic for m in messages) == [
        "billing.sync_subscription",
        "crm.order_opportunity",
        "crm.sync_subscription",
        "provisioning.push",
    ]


async def test_currency_without_prices_is_refused(
    acme: dict[str, Any], api: Api, db: AsyncSession
) -> None:
    acme["sub"].currency = "EUR"
    await db.flush()
    before = await table_counts(db)

    refused = await quote(
        api, acme["owner"], subscriptionId=acme["id"], actions=actions({"addSeats": {"seats": 1}})
    )

    assert refused["code"] == "CURRENCY_MISMATCH"
    assert await table_counts(db) == before
