"""The rows the staff tools read and write beside the subscription itself: extensions of a
trial or grace period, the renewal and reconciliation rows of a term, co-termed packs."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.db.tables import (
    ConsumablePurchase,
    Reconciliation,
    Renewal,
    SubscriptionExtension,
)
from app.domain.enums import ConsumableKind


async def extension_of_term(
    session: AsyncSession, subscription_id: int, kind: str, term_start: date
) -> SubscriptionExtension | None:
    stmt = sa.select(SubscriptionExtension).where(
        col(SubscriptionExtension.subscription_id) == subscription_id,
        col(SubscriptionExtension.kind) == kind,
        col(SubscriptionExtension.term_start) == term_start,
    )
    return (await session.scalars(stmt)).first()


async def renewal_started(session: AsyncSession, subscription_id: int, term_end: date) -> bool:
    """Whether the renewal job has begun renewing the term that ends on `term_end`."""
    stmt = sa.select(col(Renewal.id)).where(
        col(Renewal.subscription_id) == subscription_id, col(Renewal.term_start) == term_end
    )
    return (await session.execute(stmt.limit(1))).first() is not None


async def reconciliations_of_term(
    session: AsyncSession, subscription_id: int, term_start: date
) -> list[Reconciliation]:
    stmt = sa.select(Reconciliation).where(
        col(Reconciliation.subscription_id) == subscription_id,
        col(Reconciliation.term_start) == term_start,
    )
    return list((await session.scalars(stmt.with_for_update())).all())


async def delete_reconciliations(session: AsyncSession, rows: list[Reconciliation]) -> None:
    for row in rows:
        await session.delete(row)
    await session.flush()


async def co_termed_storage_packs(
    session: AsyncSession, subscription_id: int, term_end: date
) -> list[ConsumablePurchase]:
    stmt = sa.select(ConsumablePurchase).where(
        col(ConsumablePurchase.subscription_id) == subscription_id,
        col(ConsumablePurchase.kind) == ConsumableKind.STORAGE,
        col(ConsumablePurchase.expires_on) == term_end,
    )
    return list((await session.scalars(stmt.with_for_update())).all())
