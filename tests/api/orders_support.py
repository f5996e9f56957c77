"""Helpers for order tests: quote and place over the API, read back what changed."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.db.tables import Invoice, LedgerPayment, Order, Payment, Subscription
from tests.support.graphql import Api

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
