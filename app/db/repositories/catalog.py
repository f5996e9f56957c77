"""The product catalog: active products and their prices."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.db.repositories.common import by_ids, children
from app.db.tables import Price, Product


async def list_products(session: AsyncSession, tags: Sequence[str]) -> list[Product]:
    stmt = (
        sa.select(Product)
        .where(col(Product.active))
        .order_by(col(Product.kind), col(Product.tier), col(Product.id))
    )
    products = (await session.scalars(stmt)).all()
    wanted = set(tags)
    return [p for p in products if not wanted or wanted & set(p.tags)]


async def products_by_ids(session: AsyncSession, ids: Sequence[int]) -> dict[int, Product]:
    return await by_ids(session, Product, ids)


async def prices_by_product(
    session: AsyncSession, product_ids: Sequence[int]
) -> dict[int, list[Price]]:
    return await children(session, Price, Price.product_id, product_ids)


async def plan_tier_bounds(session: AsyncSession) -> tuple[int, int]:
    """(lowest paid tier, highest tier) among active plans."""
    stmt = sa.select(sa.func.min(Product.tier), sa.func.max(Product.tier)).where(
        col(Product.active), col(Product.kind) == "PLAN", col(Product.tier) > 0
    )
    low, high = (await session.execute(stmt)).one()
    return (low or 0, high or 0)


async def plan_codes(session: AsyncSession) -> set[str]:
    """The codes of the active plans."""
    stmt = sa.select(col(Product.code)).where(col(Product.active), col(Product.kind) == "PLAN")
    return set((await session.scalars(stmt)).all())


async def currencies(session: AsyncSession) -> set[str]:
    """Every currency the catalog has a price in."""
    return set((await session.scalars(sa.select(col(Price.currency)).distinct())).all())
