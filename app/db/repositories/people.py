"""Portal users and their memberships of customers; a first purchase's customer by its key."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.db.tables import Customer, Membership, PortalUser
from app.domain.enums import MemberRole


async def customer_created_by(
    session: AsyncSession, external_id: str, creation_key: str
) -> Customer | None:
    stmt = sa.select(Customer).where(
        col(Customer.created_by) == external_id, col(Customer.creation_key) == creation_key
    )
    return (await session.scalars(stmt)).first()


async def user_by_external_id(session: AsyncSession, external_id: str) -> PortalUser | None:
    stmt = sa.select(PortalUser).where(col(PortalUser.external_id) == external_id)
    return (await session.scalars(stmt)).first()


async def members_of(
    session: AsyncSession, customer_ids: Sequence[int]
) -> dict[int, list[tuple[Membership, PortalUser]]]:
    """Each customer's members with their users, in the order they joined."""
    stmt = (
        sa.select(Membership, PortalUser)
        .join(PortalUser, col(PortalUser.id) == col(Membership.user_id))
        .where(col(Membership.customer_id).in_(sorted(set(customer_ids))))
        .order_by(col(Membership.id))
    )
    found: dict[int, list[tuple[Membership, PortalUser]]] = {pk: [] for pk in customer_ids}
    for membership, user in (await session.execute(stmt)).all():
        found[membership.customer_id].append((membership, user))
    return found


async def locked_memberships(session: AsyncSession, customer_id: int) -> list[Membership]:
    """Every membership of the customer, locked (PostgreSQL `FOR UPDATE`; SQLite serialises
    writes), so two changes that each leave one owner cannot together leave none."""
    stmt = (
        sa.select(Membership)
        .where(col(Membership.customer_id) == customer_id)
        .order_by(col(Membership.id))
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return list((await session.scalars(stmt)).all())


def owners(memberships: list[Membership]) -> list[Membership]:
    return [m for m in memberships if m.role is MemberRole.OWNER]
