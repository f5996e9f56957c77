"""Licenses of self-managed subscriptions, the rows a license key is built from, and the
daily seat usage that license sync writes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.db.tables import AddOnPurchase, Deployment, License, Product, SeatUsage, Subscription
from app.domain.enums import DeploymentKind


@dataclass(frozen=True, slots=True)
class LicenseHolder:
    """A license with its subscription and the kind of deployment it runs on."""

    license: License
    subscription: Subscription
    deployment_kind: DeploymentKind


async def license_of_subscription(session: AsyncSession, subscription_id: int) -> License | None:
    """The subscription's license in force: the newest one not revoked (a reissue revokes
    the one before and adds another)."""
    stmt = (
        sa.select(License)
        .where(col(License.subscription_id) == subscription_id, col(License.revoked_at).is_(None))
        .order_by(col(License.id).desc())
        .limit(1)
    )
    return (await session.scalars(stmt)).first()


async def deployment_kind(session: AsyncSession, deployment_id: int) -> DeploymentKind | None:
    stmt = sa.select(col(Deployment.kind)).where(col(Deployment.id) == deployment_id)
    found: DeploymentKind | None = (await session.execute(stmt)).scalar_one_or_none()
    return found


async def lock_subscription(session: AsyncSession, subscription_id: int) -> Subscription | None:
    """The subscription, locked until the transaction ends (FOR UPDATE; SQLite serialises
    writers with BEGIN IMMEDIATE)."""
    stmt = (
        sa.select(Subscription)
        .where(col(Subscription.id) == subscription_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return (await session.scalars(stmt)).first()


async def lock_subscription_row(session: AsyncSession, subscription_id: int) -> None:
    """Lock the subscription's row (FOR UPDATE) without reloading the object the caller may
    be changing."""
    stmt = sa.select(col(Subscription.id)).where(col(Subscription.id) == subscription_id)
    await session.execute(stmt.with_for_update())


def _holder_query() -> sa.Select[License, Subscription, DeploymentKind]:
    return (
        sa.select(License, Subscription, col(Deployment.kind))
        .join(Subscription, col(Subscription.id) == col(License.subscription_id))
        .join(Deployment, col(Deployment.id) == col(Subscription.deployment_id))
    )


async def holder_by_code(session: AsyncSession, activation_code: str) -> LicenseHolder | None:
    """The license with this code, locked (FOR UPDATE OF license) so that two instances
    activating at once are served one after the other."""
    stmt = (
        _holder_query()
        .where(col(License.activation_code) == activation_code)
        .with_for_update(of=License)
        .execution_options(populate_existing=True)
    )
    row = (await session.execute(stmt)).first()
    return None if row is None else LicenseHolder(row[0], row[1], row[2])


async def lock_holder(session: AsyncSession, license_id: int) -> LicenseHolder | None:
    """The license and its subscription, both locked: the subscription first, as every
    writer of seat counts does, then the license."""
    stmt = sa.select(col(License.subscription_id)).where(col(License.id) == license_id)
    subscription_id = (await session.execute(stmt)).scalar_one_or_none()
    if subscription_id is None or await lock_subscription(session, subscription_id) is None:
        return None
    locked = (
        _holder_query()
        .where(col(License.id) == license_id)
        .with_for_update(of=License)
        .execution_options(populate_existing=True)
    )
    row = (await session.execute(locked)).first()
    return None if row is None else LicenseHolder(row[0], row[1], row[2])


async def plan_code(session: AsyncSession, plan_id: int) -> str:
    stmt = sa.select(col(Product.code)).where(col(Product.id) == plan_id)
    code: str = (await session.execute(stmt)).scalar_one()
    return code


async def add_on_purchases(session: AsyncSession, subscription_id: int) -> list[tuple[str, int]]:
    """(add-on code, quantity) of each add-on purchase of the subscription."""
    stmt = (
        sa.select(col(Product.code), col(AddOnPurchase.quantity))
        .join(Product, col(Product.id) == col(AddOnPurchase.product_id))
        .where(col(AddOnPurchase.subscription_id) == subscription_id)
        .order_by(col(AddOnPurchase.id))
    )
    return [(code, quantity) for code, quantity in (await session.execute(stmt)).all()]


async def upsert_seat_usage(
    session: AsyncSession, deployment_id: int, day: date, billable_users: int, at: datetime
) -> None:
    """The deployment's usage for `day`: inserted, or replaced when the day was reported
    already (one row per deployment and day, whoever reports concurrently)."""
    values = {
        "deployment_id": deployment_id,
        "reported_on": day,
        "billable_users": billable_users,
        "max_billable_users": billable_users,
        "reported_at": at,
    }
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(SeatUsage).values(**values)
    day_max = SeatUsage.__table__.c.max_billable_users  # type: ignore[attr-defined]
    stmt = stmt.on_conflict_do_update(
        index_elements=[col(SeatUsage.deployment_id), col(SeatUsage.reported_on)],
        set_={
            "billable_users": billable_users,
            "reported_at": at,
            # The day's highest report stays (the quarterly reconciliation bills it).
            "max_billable_users": sa.case(
                (day_max < billable_users, billable_users), else_=day_max
            ),
        },
    )
    await session.execute(stmt)


async def seat_usage_on(session: AsyncSession, deployment_id: int, day: date) -> SeatUsage | None:
    stmt = sa.select(SeatUsage).where(
        col(SeatUsage.deployment_id) == deployment_id, col(SeatUsage.reported_on) == day
    )
    return (await session.scalars(stmt)).first()
