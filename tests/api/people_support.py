"""Helpers for the first-purchase and people tests: tokens for users the API never saw, the
documents, and the rows a first purchase writes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.db.tables import (
    AuditEvent,
    BillingAccount,
    Customer,
    LedgerAccount,
    LedgerPayment,
    Membership,
    Order,
    PortalUser,
)


def stranger_token(
    settings: Settings,
    external_id: str,
    *,
    email: str | None = None,
    name: str | None = None,
    expires_in: timedelta = timedelta(hours=1),
    secret: str | None = None,
) -> str:
    """A token as the frontend signs it, for a user the API may never have seen."""
    now = datetime.now(UTC)
    claims: dict[str, Any] = {
        "sub": external_id,
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "iat": int(now.timestamp()),
        "exp": int((now + expires_in).timestamp()),
    }
    if email is not None:
        claims["email"] = email
    if name is not None:
        claims["name"] = name
    return jwt.encode(claims, secret or settings.jwt_secret, algorithm="HS256")


NEW_CUSTOMER: dict[str, Any] = {
    "name": "Newco GmbH",
    "soldTo": {"name": "Nina Neu", "email": "nina@newco.example"},
    "billTo": {"name": "Newco Accounts Payable", "email": "ap@newco.example"},
    "billingAddress": {
        "line1": "Hauptstrasse 1",
        "city": "Berlin",
        "postalCode": "10115",
        "country": "de",
    },
    "vatId": "DE 123 456 789",
    "currency": "USD",
    "paymentMethodToken": "pm_card_visa",
}


def first_order(namespace: str = "newco-ns", seats: int = 5, **overrides: Any) -> dict[str, Any]:
    return {
        "newCustomer": {**NEW_CUSTOMER, **overrides},
        "actions": [
            {
                "createSubscription": {
                    "plan": "premium",
                    "seats": seats,
                    "deployment": {"externalId": namespace},
                }
            }
        ],
    }


QUOTE = """mutation($input: OrderInput!) { orderQuote(input: $input) {
  __typename ... on Quote { token total { amount } lines { amount { amount } } }
  ... on UserError { code message } } }"""

PLACE = """mutation($token: String!, $key: String!) {
  orderPlace(quoteToken: $token, idempotencyKey: $key) {
  __typename
  ... on OrderPlacePayload { order { id status total { amount }
      customer { id name country
        billingAccounts { name currency taxId soldTo { name email } billTo { name email }
          billingAddress { line1 city postalCode country } paymentMethod }
        members { user { externalId name email } role } }
      invoice { status total { amount } amountPaid { amount } }
      subscription { number seats plan { code } } } }
  ... on PaymentDeclinedError { declineCode }
  ... on UserError { code message } } }"""

VIEWER = """{ viewer { kind name membershipState canStartFirstPurchase
  memberships { role customer { name } } } }"""


async def count(db: AsyncSession, table: type) -> int:
    found = await db.execute(sa.select(sa.func.count()).select_from(table))
    return int(found.scalar_one())


FIRST_PURCHASE_TABLES = (
    Customer,
    PortalUser,
    Membership,
    BillingAccount,
    Order,
    LedgerAccount,
    LedgerPayment,
    AuditEvent,
)


async def first_purchase_rows(db: AsyncSession) -> dict[str, int]:
    return {t.__tablename__: await count(db, t) for t in FIRST_PURCHASE_TABLES}  # type: ignore[attr-defined]
