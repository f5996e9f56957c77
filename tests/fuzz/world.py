"""The fuzzed world: the demo data plus a notification, an audit event, a live quote and an
activated license key, and the values the fuzzer plants in arguments so that it reaches
real objects (and a few edge values a random string would almost never hit)."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel, col

from app.clock import Clock
from app.config import Settings
from app.db.tables import (
    AddOnPurchase,
    AuditEvent,
    BillingAccount,
    Customer,
    Deployment,
    Invoice,
    License,
    Notification,
    Order,
    Product,
    Subscription,
)
from app.domain.enums import NotificationKind
from app.services import notifications
from app.services.demo import demo_tokens, seed_demo
from resolvers.ids import to_global_id
from tests.support.graphql import Api

# Principal -> the demo token key (None: no credential).
PRINCIPALS: dict[str, str | None] = {
    "anon": None,
    "owner": "owner",
    "viewer": "viewer",
    "partner": "partner",
    "admin": "admin",
    "service": "service",
}

_NODE_TABLES: tuple[tuple[str, type[SQLModel]], ...] = (
    ("AddOnPurchase", AddOnPurchase),
    ("AuditEvent", AuditEvent),
    ("BillingAccount", BillingAccount),
    ("Customer", Customer),
    ("Deployment", Deployment),
    ("Invoice", Invoice),
    ("Notification", Notification),
    ("Order", Order),
    ("Product", Product),
    ("Subscription", Subscription),
)
# Keys of ids and cursors at the edges: not positive, past a BIGINT, a digit int() refuses.
_EDGE_KEYS = ("0", "-1", "9223372036854775808", "99999999999999999999", "\u00b2")


@dataclass(frozen=True)
class FuzzWorld:
    tokens: dict[str, str | None]  # principal -> bearer token
    values: dict[str, list[Any]]  # dictionary name -> entries planted in arguments


async def build_world(db: AsyncSession, api: Api, settings: Settings, clock: Clock) -> FuzzWorld:
    summary = await seed_demo(db, settings, clock)
    issued = demo_tokens(settings, datetime.now(UTC))
    tokens = {name: None if key is None else issued[key] for name, key in PRINCIPALS.items()}
    await _notify_acme(db, clock)
    subscriptions = summary.subscription_numbers
    acme = await _row(db, Subscription, col(Subscription.number) == subscriptions["acme_premium"])
    db.add(
        AuditEvent(
            actor_kind="ADMIN",
            actor_id="fuzz",
            action="subscription.auto_renew_changed",
            target_type="Subscription",
            target_id=str(acme.id),
            reason="seeded for the fuzz run",
        )
    )
    await db.flush()
    values = {
        "ids": await _global_ids(db) + _edge_ids(),
        "page_sizes": [1, 2, 20, 100],
        "cursors": [_encode(f"cursor:{key}") for key in ("1", *_EDGE_KEYS)],
        "numbers": sorted(subscriptions.values()),
        "deployments": await _column(db, col(Deployment.external_id)),
        "codes": await _column(db, col(Product.code)),
        "user_ids": ["user-2001", "user-2004", "demo-owner"],
        "activation_codes": await _column(db, col(License.activation_code)),
        "instance_ids": await _column(db, col(License.instance_id)),
        "quote_tokens": [await _quote_token(api, tokens["owner"], acme)],
        "license_keys": [await _license_key(db, api)],
    }
    return FuzzWorld(tokens=tokens, values=values)


async def _notify_acme(db: AsyncSession, clock: Clock) -> None:
    customer = await _row(db, Customer, col(Customer.name) == "Acme Corp")
    assert customer.id is not None
    await notifications.notify(
        db,
        customer_id=customer.id,
        kind=NotificationKind.SEAT_ALERT,
        title="Seats are running low",
        body="Seeded for the fuzz run.",
        dedupe_key="fuzz",
        now=clock.now(),
    )


async def _row(db: AsyncSession, table: type[Any], where: Any) -> Any:
    return (await db.execute(sa.select(table).where(where))).scalar_one()


async def _column(db: AsyncSession, column: Any) -> list[Any]:
    return sorted(value for value in await db.scalars(sa.select(column)) if value is not None)


async def _global_ids(db: AsyncSession) -> list[str]:
    ids: list[str] = []
    for type_name, table in _NODE_TABLES:
        keys = await db.scalars(sa.select(table.id).order_by(table.id))  # type: ignore[attr-defined]
        ids.extend(to_global_id(type_name, key) for key in keys)
    return ids


def _edge_ids() -> list[str]:
    return [_encode(f"{type_name}:{key}") for type_name, _ in _NODE_TABLES for key in _EDGE_KEYS]


def _encode(text: str) -> str:
    """What resolvers.ids encodes ids and cursors with, for values it never hands out."""
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


async def _quote_token(api: Api, owner: str | None, subscription: Subscription) -> str:
    assert subscription.id is not None
    body = await api.data(
        """mutation ($id: ID!) {
          orderQuote(input: { subscriptionId: $id, actions: [{ addSeats: { seats: 1 } }] }) {
            ... on Quote { token }
          }
        }""",
        {"id": to_global_id("Subscription", subscription.id)},
        owner,
    )
    token: str = body["orderQuote"]["token"]
    return token


async def _license_key(db: AsyncSession, api: Api) -> str:
    activated = sa.select(License).where(col(License.instance_id).is_not(None))
    license_ = (await db.execute(activated.order_by(col(License.id)))).scalars().first()
    assert license_ is not None and license_.instance_id is not None
    body = await api.data(
        """mutation ($code: String!, $instance: String!) {
          licenseActivate(activationCode: $code, instanceId: $instance) {
            ... on LicenseActivatePayload { licenseKey }
          }
        }""",
        {"code": license_.activation_code, "instance": license_.instance_id},
    )
    key: str = body["licenseActivate"]["licenseKey"]
    return key
