"""Helpers for the usage tests: the product's principal, compute packs, reading back rows."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import SQLModel, col

from app.auth.principals import Principal, PrincipalKind
from app.db.tables import ConsumablePurchase, Notification, OutboxMessage, Subscription
from app.db.unit_of_work import unit_of_work
from app.domain.enums import ConsumableKind
from app.domain.errors import DomainError
from tests.support import factories as f

PRODUCT = Principal(kind=PrincipalKind.SERVICE, id="7", name="Product")
T = TypeVar("T")
M = TypeVar("M", bound=SQLModel)


async def in_unit(
    sessions: async_sessionmaker[AsyncSession], work: Callable[[AsyncSession], Awaitable[T]]
) -> T | DomainError:
    """One unit of work, as a request runs it: a refusal rolls everything back."""
    try:
        async with unit_of_work(sessions) as session:
            return await work(session)
    except DomainError as error:
        return error


async def fresh(db: AsyncSession, model: type[M], pk: Any) -> M:
    found = await db.get(model, pk, populate_existing=True)
    assert found is not None
    return found


async def compute_pack(
    db: AsyncSession,
    sub: Subscription,
    units: int,
    *,
    purchased_on: date,
    expires_on: date,
    used: int = 0,
) -> ConsumablePurchase:
    product_id = (await f.catalog(db))["compute_minutes_1000"].id
    assert sub.id is not None and product_id is not None
    return await f.add(
        db,
        ConsumablePurchase(
            subscription_id=sub.id,
            product_id=product_id,
            kind=ConsumableKind.COMPUTE_MINUTES,
            packs=max(1, units // 1_000),
            units=units,
            units_used=used,
            amount=units,
            currency="USD",
            purchased_on=purchased_on,
            expires_on=expires_on,
        ),
    )


async def notifications(db: AsyncSession, customer_id: int) -> list[tuple[str, int, str]]:
    """(kind, user id, dedupe key) of the customer's notifications, oldest first."""
    stmt = (
        sa.select(Notification)
        .where(col(Notification.customer_id) == customer_id)
        .order_by(col(Notification.id))
    )
    return [(n.kind.value, n.user_id, n.dedupe_key) for n in (await db.scalars(stmt)).all()]


async def emails_queued(db: AsyncSession) -> int:
    stmt = sa.select(sa.func.count()).where(col(OutboxMessage.topic) == "notification.email")
    return int((await db.execute(stmt)).scalar_one())
