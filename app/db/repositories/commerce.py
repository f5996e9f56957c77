"""Numbers, order leases, orders and promotions: the bookkeeping around placing an order."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.db.lease_wait import notify_released
from app.db.pagination import Page, PageRequest, fetch_page
from app.db.tables import Invoice, NumberSequence, Order, OrderLease, Promotion
from app.domain.enums import OrderStatus


def _insert_ignoring_conflicts(session: AsyncSession, table: type, **values: object) -> sa.Insert:
    insert = postgresql.insert if _dialect(session) == "postgresql" else sqlite.insert
    return insert(table).values(**values).on_conflict_do_nothing()


def _dialect(session: AsyncSession) -> str:
    assert session.bind is not None, "sessions here are always bound"
    return session.bind.dialect.name


async def next_number(session: AsyncSession, name: str) -> int:
    """The next value of a named counter; safe under concurrent writers (row-level)."""
    await session.execute(_insert_ignoring_conflicts(session, NumberSequence, name=name, value=0))
    stmt = (
        sa.update(NumberSequence)
        .where(col(NumberSequence.name) == name)
        .values(value=col(NumberSequence.value) + 1)
        .returning(col(NumberSequence.value))
    )
    return int((await session.execute(stmt)).scalar_one())


async def acquire_lease(
    session: AsyncSession, resource: str, order_id: int, now: datetime, until: datetime
) -> bool:
    """Take the resource for this order unless another order holds an unexpired lease."""
    inserted = await session.execute(
        _insert_ignoring_conflicts(
            session, OrderLease, resource=resource, order_id=order_id, expires_at=until
        )
    )
    if inserted.rowcount == 1:  # type: ignore[attr-defined]
        return True
    taken = await session.execute(
        sa.update(OrderLease)
        .where(
            col(OrderLease.resource) == resource,
            sa.or_(col(OrderLease.expires_at) < now, col(OrderLease.order_id) == order_id),
        )
        .values(order_id=order_id, expires_at=until)
    )
    return bool(taken.rowcount == 1)  # type: ignore[attr-defined]


async def release_lease(session: AsyncSession, resource: str, order_id: int) -> None:
    await session.execute(
        sa.delete(OrderLease).where(
            col(OrderLease.resource) == resource, col(OrderLease.order_id) == order_id
        )
    )
    await notify_released(session, resource)


async def release_claim(session: AsyncSession, order_id: int) -> None:
    """An order that gave up waiting (for its lease, or for a renewal's charge in doubt),
    its own lease given back first. A claim nothing was done for yet (no invoice, no
    `result`: a zero-total order keeps its redeemed promotion there; no lease row naming
    it: an executor of it holds the lease) is removed, so the key is free again as if the
    call had not been made; any other stays PENDING, resumable at once. Under the order's
    row lock, which every executor takes to prepare it, so a claim another executor is
    preparing is never removed."""
    order = await session.get(Order, order_id, with_for_update=True, populate_existing=True)
    if order is None or order.status is not OrderStatus.PENDING:
        return
    invoiced = sa.select(col(Invoice.id)).where(col(Invoice.order_id) == order_id).exists()
    leased = sa.select(col(OrderLease.resource)).where(col(OrderLease.order_id) == order_id)
    touched = sa.select(sa.or_(invoiced, leased.exists()))
    if order.result or (await session.execute(touched)).scalar():
        order.processing_until = None
    else:
        await session.delete(order)


async def lease_holder(session: AsyncSession, resource: str, now: datetime) -> int | None:
    stmt = sa.select(col(OrderLease.order_id)).where(
        col(OrderLease.resource) == resource, col(OrderLease.expires_at) >= now
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def find_order(session: AsyncSession, customer_id: int, key: str) -> Order | None:
    stmt = sa.select(Order).where(
        col(Order.customer_id) == customer_id, col(Order.idempotency_key) == key
    )
    return (await session.scalars(stmt)).first()


async def find_promotion(session: AsyncSession, code: str) -> Promotion | None:
    stmt = sa.select(Promotion).where(
        sa.func.upper(col(Promotion.code)) == code.strip().upper(), col(Promotion.active)
    )
    return (await session.scalars(stmt)).first()


async def redeem_promotion(session: AsyncSession, promotion_id: int) -> bool:
    """Count one redemption unless the limit is reached (a conditional update, no race)."""
    stmt = (
        sa.update(Promotion)
        .where(
            col(Promotion.id) == promotion_id,
            sa.or_(
                col(Promotion.max_redemptions).is_(None),
                col(Promotion.redemptions) < col(Promotion.max_redemptions),
            ),
        )
        .values(redemptions=col(Promotion.redemptions) + 1)
    )
    return bool((await session.execute(stmt)).rowcount == 1)  # type: ignore[attr-defined]


async def code_taken(session: AsyncSession, code: str) -> bool:
    """Whether any promotion, active or not, has `code` in any case."""
    stmt = sa.select(col(Promotion.id)).where(sa.func.upper(col(Promotion.code)) == code.upper())
    return (await session.scalars(stmt)).first() is not None


async def list_promotions(
    session: AsyncSession, page: PageRequest, active: bool | None
) -> Page[Promotion]:
    stmt = sa.select(Promotion)
    if active is not None:
        stmt = stmt.where(col(Promotion.active) == active)
    return await fetch_page(session, stmt, Promotion.id, page)
