"""Reads and writes of the self-service changes that are not orders: trials, auto-renew,
pending plan changes, add-on seat assignments. Rows a change writes are read FOR UPDATE."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.db.scope import ReadScope
from app.db.tables import (
    AddOnAssignment,
    AddOnPurchase,
    BillingAccount,
    Customer,
    Deployment,
    Membership,
    PortalUser,
    Product,
    Subscription,
)
from app.domain.enums import LIVE_STATUSES, DeploymentKind, ProductKind


async def customer_in_scope(
    session: AsyncSession, scope: ReadScope, customer_id: int
) -> Customer | None:
    stmt = sa.select(Customer).where(col(Customer.id) == customer_id, scope.customers())
    return (await session.scalars(stmt)).first()


async def subscription_for_update(
    session: AsyncSession, scope: ReadScope, subscription_id: int
) -> Subscription | None:
    """The subscription if the scope sees it, locked against other writers (PostgreSQL)."""
    stmt = (
        sa.select(Subscription)
        .where(col(Subscription.id) == subscription_id, scope.subscriptions())
        .with_for_update()
    )
    return (await session.scalars(stmt)).first()


async def deployment_for_update(
    session: AsyncSession,
    *,
    customer_id: int,
    kind: DeploymentKind,
    external_id: str,
    name: str,
    at: datetime,
) -> Deployment:
    """The deployment with this external id, created for the customer if there is none, and
    locked until the transaction ends. It may belong to another customer: the caller checks.

    The insert ignores a conflict on the unique external id, so two concurrent callers both
    end up locking the one row instead of one of them failing on the constraint."""
    insert = postgresql.insert if _dialect(session) == "postgresql" else sqlite.insert
    await session.execute(
        insert(Deployment)
        .values(
            customer_id=customer_id, kind=kind, external_id=external_id, name=name, created_at=at
        )
        .on_conflict_do_nothing()
    )
    stmt = (
        sa.select(Deployment)
        .where(col(Deployment.external_id) == external_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return (await session.scalars(stmt)).one()


async def live_subscriptions_on(session: AsyncSession, deployment_id: int) -> list[Subscription]:
    stmt = (
        sa.select(Subscription)
        .where(
            col(Subscription.deployment_id) == deployment_id,
            col(Subscription.status).in_(LIVE_STATUSES),
        )
        .order_by(col(Subscription.id))
        .with_for_update()
    )
    return list((await session.scalars(stmt)).all())


async def products_by_ids(session: AsyncSession, ids: Sequence[int]) -> dict[int, Product]:
    if not ids:
        return {}
    stmt = sa.select(Product).where(col(Product.id).in_(sorted(set(ids))))
    return {p.id: p for p in (await session.scalars(stmt)).all() if p.id is not None}


async def top_plan(session: AsyncSession) -> Product | None:
    """The active plan of the highest tier (Ultimate in the demo catalog)."""
    stmt = (
        sa.select(Product)
        .where(col(Product.kind) == ProductKind.PLAN, col(Product.active))
        .order_by(col(Product.tier).desc(), col(Product.version).desc(), col(Product.id).desc())
        .limit(1)
    )
    return (await session.scalars(stmt)).first()


async def customer_billing_account(
    session: AsyncSession, customer_id: int
) -> BillingAccount | None:
    """The customer's own (oldest) billing account, never a partner's."""
    stmt = (
        sa.select(BillingAccount)
        .where(col(BillingAccount.customer_id) == customer_id)
        .order_by(col(BillingAccount.id))
        .limit(1)
    )
    return (await session.scalars(stmt)).first()


async def add_on_for_update(
    session: AsyncSession, scope: ReadScope, add_on_purchase_id: int
) -> tuple[AddOnPurchase, Subscription] | None:
    """The purchase and its subscription if the scope sees it; the purchase row is locked, so
    writers of its assignments take turns (SQLite: the write transaction serialises them)."""
    stmt = (
        sa.select(AddOnPurchase, Subscription)
        .join(Subscription, col(Subscription.id) == col(AddOnPurchase.subscription_id))
        .where(col(AddOnPurchase.id) == add_on_purchase_id, scope.subscriptions())
        .with_for_update(of=AddOnPurchase)
    )
    found = (await session.execute(stmt)).first()
    return None if found is None else (found[0], found[1])


async def assigned_user_ids(session: AsyncSession, add_on_purchase_id: int) -> list[str]:
    """User ids holding a seat, in the order they were assigned."""
    stmt = (
        sa.select(col(AddOnAssignment.user_id))
        .where(col(AddOnAssignment.add_on_purchase_id) == add_on_purchase_id)
        .order_by(col(AddOnAssignment.id))
    )
    return list((await session.scalars(stmt)).all())


async def members_among(
    session: AsyncSession, customer_id: int, user_ids: Sequence[str]
) -> set[str]:
    """Those of `user_ids` that are portal users with a membership (any role) in the customer."""
    stmt = (
        sa.select(col(PortalUser.external_id))
        .join(Membership, col(Membership.user_id) == col(PortalUser.id))
        .where(
            col(Membership.customer_id) == customer_id,
            col(PortalUser.external_id).in_(sorted(set(user_ids))),
        )
    )
    return set((await session.scalars(stmt)).all())


async def add_assignments(
    session: AsyncSession,
    add_on_purchase_id: int,
    user_ids: Sequence[str],
    at: datetime,
    by: str | None = None,
) -> None:
    session.add_all(
        AddOnAssignment(
            add_on_purchase_id=add_on_purchase_id, user_id=user_id, assigned_at=at, assigned_by=by
        )
        for user_id in user_ids
    )
    await session.flush()


async def remove_assignments(
    session: AsyncSession, add_on_purchase_id: int, user_ids: Sequence[str]
) -> None:
    if not user_ids:
        return
    await session.execute(
        sa.delete(AddOnAssignment).where(
            col(AddOnAssignment.add_on_purchase_id) == add_on_purchase_id,
            col(AddOnAssignment.user_id).in_(sorted(set(user_ids))),
        )
    )


def _dialect(session: AsyncSession) -> str:
    assert session.bind is not None, "sessions here are always bound"
    return session.bind.dialect.name
