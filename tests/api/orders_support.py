"""Helpers for order tests: quote and place over the API, read back what changed."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.config import Settings
from app.db.tables import Invoice, LedgerPayment, Order, Payment, Subscription
from app.domain.enums import MemberRole
from resolvers.ids import to_global_id
from tests.support import factories as f
from tests.support.graphql import Api, user_token

QUOTE = """mutation($input: OrderInput!) { orderQuote(input: $input) {
  __typename
  ... on Quote {
    token total { amount } subtotal { amount } discount { amount }
    lines { kind description productCode quantity unitAmount { amount } amount { amount } }
  }
  ... on UserError { code message } } }"""

PLACE = """mutation($token: String!, $key: String!) {
  orderPlace(quoteToken: $token, idempotencyKey: $key) {
  __typename
  ... on OrderPlacePayload { order { id status total { amount }
      invoice { number status total { amount } amountPaid { amount }
                lines { amount { amount } } payments { status } }
      subscription { number seats plan { code } } } }
  ... on PaymentDeclinedError { declineCode }
  ... on UserError { code message } } }"""


# Every action an order of an existing subscription can carry: (plan, action, day).
ACTION_CASES = [
    pytest.param("premium", {"addSeats": {"seats": 3}}, date(2026, 3, 15), id="add-seats"),
    pytest.param("premium", {"changePlan": {"plan": "ultimate"}}, date(2026, 5, 20), id="upgrade"),
    pytest.param(
        "premium", {"addAddOn": {"addOn": "duo_pro", "seats": 4}}, date(2026, 8, 9), id="add-on"
    ),
    pytest.param(
        "premium",
        {"buyPack": {"pack": "compute_minutes_1000", "quantity": 3}},
        date(2026, 2, 2),
        id="compute-pack",
    ),
    pytest.param(
        "premium",
        {"buyPack": {"pack": "storage_10gib", "quantity": 1}},
        date(2026, 11, 30),
        id="storage-pack",
    ),
    pytest.param("premium", {"renew": {"seats": 12}}, date(2026, 12, 20), id="renew"),
]


async def acme_world(db: AsyncSession, settings: Settings) -> dict[str, Any]:
    """A customer with an owner, a viewer and a Premium subscription of 10 seats (8 used)."""
    customer = await f.customer(db, name="Acme")
    owner = await f.user(db, member_of=customer, role=MemberRole.OWNER)
    viewer = await f.user(db, member_of=customer, role=MemberRole.VIEWER)
    sub = await f.subscription(db, customer, seats=10, seats_in_use=8, max_seats_used=8)
    return {
        "customer": customer,
        "sub": sub,
        "id": to_global_id("Subscription", sub.id or 0),
        "owner": user_token(settings, owner),
        "viewer": user_token(settings, viewer),
    }


def at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 12, tzinfo=UTC)


async def quote(api: Api, token: str, **order: Any) -> dict[str, Any]:
    data = await api.data(QUOTE, {"input": order}, token=token)
    result: dict[str, Any] = data["orderQuote"]
    return result


async def place(api: Api, token: str, quote_token: str, key: str = "key-1") -> dict[str, Any]:
    data = await api.data(PLACE, {"token": quote_token, "key": key}, token=token)
    result: dict[str, Any] = data["orderPlace"]
    return result


async def refreshed(db: AsyncSession, subscription: Subscription) -> Subscription:
    await db.refresh(subscription)
    return subscription


async def counts(db: AsyncSession) -> dict[str, int]:
    """Rows that an order writes: orders, invoices, payments here and at the provider."""
    found = {}
    for table in (Order, Invoice, Payment, LedgerPayment):
        stmt = sa.select(sa.func.count()).select_from(table)
        found[table.__tablename__] = (await db.execute(stmt)).scalar_one()  # type: ignore[attr-defined]
    return found


async def invoices_of(db: AsyncSession, subscription_id: int) -> list[Invoice]:
    stmt = sa.select(Invoice).where(col(Invoice.subscription_id) == subscription_id)
    return list((await db.scalars(stmt)).all())
