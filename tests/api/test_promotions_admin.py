"""Promo codes for staff over the API: `promotionCreate` checks every term and normalises the
code, `promotionExpire` stops new redemptions while placed orders keep their discount, and
`promotions` lists redemptions used and left. Every refusal is typed and changes nothing; a
quote refuses a code with one code per reason."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.clock import FixedClock
from app.config import Settings
from app.db.tables import AuditEvent, Promotion
from app.domain.enums import TokenKind
from resolvers.ids import to_global_id
from tests.api.orders_support import acme_world, at, invoices_of, place, quote
from tests.support.graphql import Api, api_token
from tests.support.snapshots import table_counts

CREATE = """mutation($input: PromotionCreateInput!, $reason: String!) {
  promotionCreate(input: $input, reason: $reason) {
    __typename ... on PromotionPayload { promotion {
      id code percentOff amountOff { amount currency } plans startsOn expiresOn
      maxRedemptions redemptionsUsed redemptionsLeft active } }
    ... on UserError { code message } } }"""
EXPIRE = """mutation($id: ID!, $reason: String!) { promotionExpire(id: $id, reason: $reason) {
  __typename ... on PromotionPayload { promotion { code active } }
  ... on UserError { code message } } }"""
LIST = """query($active: Boolean) { promotions(first: 10, filter: {active: $active}) {
  nodes { code active redemptionsUsed redemptionsLeft } } }"""
SPRING = {
    "code": " spring-25 ",
    "percentOff": 25,
    "plans": ["premium"],
    "maxRedemptions": 2,
    "startsOn": "2026-06-01",
    "expiresOn": "2026-06-30",
}


@pytest.fixture
async def admin(db: AsyncSession) -> str:
    return await api_token(db, TokenKind.ADMIN)


@pytest.fixture
async def acme(db: AsyncSession, settings: Settings) -> dict[str, Any]:
    return await acme_world(db, settings)


async def _create(api: Api, admin: str, reason: str = "Spring sale", **input: Any) -> Any:
    data = await api.data(CREATE, {"input": input, "reason": reason}, token=admin)
    return data["promotionCreate"]


async def test_a_created_code_is_normalised_listed_and_audited(
    api: Api, db: AsyncSession, admin: str, acme: dict[str, Any]
) -> None:
    created = await _create(api, admin, **SPRING)

    assert created["promotion"] | {"id": None} == {
        "id": None,
        "code": "SPRING-25",
        "percentOff": 25,
        "amountOff": None,
        "plans": ["premium"],
        "startsOn": "2026-06-01",
        "expiresOn": "2026-06-30",
        "maxRedemptions": 2,
        "redemptionsUsed": 0,
        "redemptionsLeft": 2,
        "active": True,
    }
    event = (await db.scalars(sa.select(AuditEvent))).one()
    assert (event.action, event.reason, event.after) == (
        "promotion.created",
        "Spring sale",
        {
            "code": "SPRING-25",
            "percent_off": 25,
            "amount_off": None,
            "currency": None,
            "plan_codes": ["premium"],
            "max_redemptions": 2,
            "starts_on": "2026-06-01",
            "expires_on": "2026-06-30",
            "active": True,
        },
    )
    fifty = await _create(api, admin, code="FIFTY", amountOff="5000", currency="usd")
    assert fifty["promotion"]["amountOff"] == {"amount": "5000", "currency": "USD"}


REFUSALS = [
    ({"code": "ab", "percentOff": 10}, "VALIDATION", "`code` must be 3-64 characters"),
    ({"code": "NO SPACE", "percentOff": 10}, "VALIDATION", "`code` must be 3-64 characters"),
    ({"code": "X" * 65, "percentOff": 10}, "VALIDATION", "`code` must be 3-64 characters"),
    ({"code": "ZERO", "percentOff": 0}, "VALIDATION", "`percentOff` must be between 1 and 100"),
    ({"code": "MORE", "percentOff": 101}, "VALIDATION", "`percentOff` must be between 1"),
    ({"code": "NONE"}, "VALIDATION", "Give exactly one of `percentOff` and `amountOff`"),
    (
        {"code": "BOTH", "percentOff": 5, "amountOff": "100", "currency": "USD"},
        "VALIDATION",
        "Give exactly one",
    ),
    ({"code": "PCUR", "percentOff": 5, "currency": "USD"}, "VALIDATION", "`currency` goes with"),
    ({"code": "FREE", "amountOff": "0", "currency": "USD"}, "VALIDATION", "more than 0"),
    ({"code": "NOCUR", "amountOff": "100"}, "VALIDATION", "needs a `currency` of the catalog's"),
    ({"code": "EURO", "amountOff": "100", "currency": "EUR"}, "VALIDATION", "catalog's: USD."),
    (
        {"code": "PLAN", "percentOff": 5, "plans": ["gold"]},
        "VALIDATION",
        "not in the catalog: gold",
    ),
    ({"code": "CAP", "percentOff": 5, "maxRedemptions": 0}, "VALIDATION", "at least 1"),
    (
        {"code": "BACK", "percentOff": 5, "startsOn": "2026-07-02", "expiresOn": "2026-07-01"},
        "VALIDATION",
        "must not be before `startsOn`",
    ),
    ({"code": "PAST", "percentOff": 5, "expiresOn": "2026-05-31"}, "VALIDATION", "in the past"),
    ({"code": "Welcome", "percentOff": 5}, "PROMO_CODE_TAKEN", "The code `WELCOME` is taken."),
]


async def test_refused_terms_are_typed_and_change_nothing(
    api: Api, db: AsyncSession, admin: str, acme: dict[str, Any]
) -> None:
    db.add(Promotion(code="WELCOME", percent_off=10, active=False))
    await db.flush()
    before = await table_counts(db)
    for input, code, message in REFUSALS:
        refused = await _create(api, admin, **input)
        assert (refused["code"], message in refused["message"]) == (code, True), input
    assert (await _create(api, admin, reason=" ", **SPRING))["code"] == "VALIDATION"
    assert await table_counts(db) == before


async def test_a_quote_refuses_a_code_with_one_code_per_reason(
    api: Api, db: AsyncSession, acme: dict[str, Any], clock: FixedClock
) -> None:
    db.add_all(
        [
            Promotion(code="LATER", percent_off=10, starts_on=date(2026, 7, 3)),
            Promotion(code="GONE", percent_off=10, expires_on=date(2026, 7, 1)),
            Promotion(code="USEDUP", percent_off=10, max_redemptions=1, redemptions=1),
            Promotion(code="ULTIMATE", percent_off=10, plan_codes=["ultimate"]),
            Promotion(code="EUROS", amount_off=500, currency="EUR"),
            Promotion(code="ENDED", percent_off=10, active=False),
        ]
    )
    await db.flush()
    clock.set(at(date(2026, 7, 2)))
    expected = {
        "LATER": "PROMO_CODE_NOT_STARTED",
        "GONE": "PROMO_CODE_EXPIRED",
        "USEDUP": "PROMO_CODE_EXHAUSTED",
        "ULTIMATE": "PROMO_CODE_NOT_FOR_PLAN",
        "EUROS": "PROMO_CODE_WRONG_CURRENCY",
        "ENDED": "PROMO_CODE_INVALID",
    }
    found = {}
    for code in expected:
        order = {"subscriptionId": acme["id"], "actions": [{"addSeats": {"seats": 5}}]}
        found[code] = (await quote(api, acme["owner"], **order, promoCode=code))["code"]
    assert found == expected


async def test_expiring_stops_new_orders_and_keeps_placed_discounts(
    api: Api, db: AsyncSession, admin: str, acme: dict[str, Any], clock: FixedClock
) -> None:
    created = await _create(api, admin, code="summer20", percentOff=20, maxRedemptions=3)
    clock.set(at(date(2026, 7, 2)))
    order = {
        "subscriptionId": acme["id"],
        "actions": [{"addSeats": {"seats": 5}}],
        "promoCode": "Summer20",
    }
    placed = await place(api, acme["owner"], (await quote(api, acme["owner"], **order))["token"])
    assert placed["order"]["invoice"]["total"] == {"amount": "69790"}
    pending = await quote(api, acme["owner"], **order)  # quoted before the code is expired

    variables = {"id": created["promotion"]["id"], "reason": "Campaign over"}
    expired = (await api.data(EXPIRE, variables, token=admin))["promotionExpire"]

    assert expired["promotion"] == {"code": "SUMMER20", "active": False}
    assert (await quote(api, acme["owner"], **order))["code"] == "PROMO_CODE_INVALID"
    late = await place(api, acme["owner"], pending["token"], key="key-2")
    assert late["code"] == "PROMO_CODE_INVALID"
    [invoice] = await invoices_of(db, acme["sub"].id)
    assert (invoice.total, invoice.discount) == (69_790, 17_448)  # kept
    listed = await api.data(LIST, {"active": False}, token=admin)
    assert listed["promotions"]["nodes"] == [
        {"code": "SUMMER20", "active": False, "redemptionsUsed": 1, "redemptionsLeft": 2}
    ]
    assert (await api.data(LIST, {"active": True}, token=admin))["promotions"]["nodes"] == []
    actions = await db.scalars(sa.select(col(AuditEvent.action)).order_by(col(AuditEvent.id)))
    assert "promotion.expired" in actions.all()

    before = await table_counts(db)
    again = (await api.data(EXPIRE, variables, token=admin))["promotionExpire"]
    assert (again["code"], again["message"]) == (
        "VALIDATION",
        "The code `SUMMER20` is already expired.",
    )
    unknown = {"id": to_global_id("Promotion", 9999), "reason": "x"}
    assert (await api.data(EXPIRE, unknown, token=admin))["promotionExpire"]["code"] == "NOT_FOUND"
    assert await table_counts(db) == before
