"""Reads and writes of the order flow: the state an order is priced on and changes."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.db.tables import (
    AddOnPurchase,
    BillingAccount,
    ConsumablePurchase,
    Deployment,
    Invoice,
    Order,
    Payment,
    Price,
    Product,
    Subscription,
)
from app.domain.enums import LIVE_STATUSES, ConsumableKind, OrderStatus


async def subscription_for_update(session: AsyncSession, subscription_id: int) -> Subscription:
    """The row, locked against other writers until the transaction ends (PostgreSQL)."""
    stmt = sa.select(Subscription).where(col(Subscription.id) == subscription_id).with_for_update()
    return (await session.scalars(stmt)).one()


async def priced_catalog(session: AsyncSession, currency: str) -> list[tuple[Product, Price]]:
    stmt = (
        sa.select(Product, Price)
        .join(Price, col(Price.product_id) == col(Product.id))
        .where(col(Product.active), col(Price.currency) == currency)
    )
    return [(product, price) for product, price in (await session.execute(stmt)).all()]


async def products_by_code(session: AsyncSession, codes: set[str]) -> dict[str, Product]:
    stmt = sa.select(Product).where(col(Product.code).in_(sorted(codes)), col(Product.active))
    return {p.code: p for p in (await session.scalars(stmt)).all()}


async def add_on_purchases(
    session: AsyncSession, subscription_id: int
) -> list[tuple[AddOnPurchase, str]]:
    stmt = (
        sa.select(AddOnPurchase, col(Product.code))
        .join(Product, col(Product.id) == col(AddOnPurchase.product_id))
        .where(col(AddOnPurchase.subscription_id) == subscription_id)
        .order_by(col(AddOnPurchase.id))
    )
    return [(row, code) for row, code in (await session.execute(stmt)).all()]


async def storage_packs(session: AsyncSession, subscription_id: int, term_end: date) -> int:
    """Storage packs co-termed with the current term."""
    stmt = sa.select(sa.func.coalesce(sa.func.sum(col(ConsumablePurchase.packs)), 0)).where(
        col(ConsumablePurchase.subscription_id) == subscription_id,
        col(ConsumablePurchase.kind) == ConsumableKind.STORAGE,
        col(ConsumablePurchase.expires_on) == term_end,
    )
    return int((await session.execute(stmt)).scalar_one())


async def deployment_by_external_id(session: AsyncSession, external_id: str) -> Deployment | None:
    stmt = sa.select(Deployment).where(col(Deployment.external_id) == external_id)
    return (await session.scalars(stmt)).first()


async def live_subscription_on(session: AsyncSession, deployment_id: int) -> Subscription | None:
    stmt = sa.select(Subscription).where(
        col(Subscription.deployment_id) == deployment_id,
        col(Subscription.status).in_(LIVE_STATUSES),
    )
    return (await session.scalars(stmt)).first()


async def paying_account(
    session: AsyncSession, *, customer_id: int | None = None, partner_id: int | None = None
) -> BillingAccount | None:
    owner = (
        col(BillingAccount.partner_id) == partner_id
        if partner_id is not None
        else col(BillingAccount.customer_id) == customer_id
    )
    stmt = sa.select(BillingAccount).where(owner).order_by(col(BillingAccount.id))
    return (await session.scalars(stmt)).first()


async def invoice_of_order(session: AsyncSession, order_id: int) -> Invoice | None:
    stmt = sa.select(Invoice).where(col(Invoice.order_id) == order_id)
    return (await session.scalars(stmt)).first()


async def payment_by_ref(session: AsyncSession, provider_ref: str) -> Payment | None:
    stmt = sa.select(Payment).where(col(Payment.provider_ref) == provider_ref)
    return (await session.scalars(stmt)).first()


async def claim_stalled_orders(
    session: AsyncSession, now: datetime, until: datetime, limit: int
) -> list[Order]:
    """PENDING orders whose executor's lease ran out (or that paused on an unreachable
    provider), oldest first, locked FOR UPDATE SKIP LOCKED (PostgreSQL; SQLite serialises
    writers) and taken until `until`. Orders from before resume data was kept are left to
    their clients' retries."""
    stmt = (
        sa.select(Order)
        .where(
            col(Order.status) == OrderStatus.PENDING,
            sa.or_(col(Order.processing_until).is_(None), col(Order.processing_until) < now),
            col(Order.resume).is_not(None),
        )
        .order_by(col(Order.id))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    claimed = [order for order in (await session.scalars(stmt)).all() if order.resume]
    for order in claimed:
        order.processing_until = until
    return claimed
