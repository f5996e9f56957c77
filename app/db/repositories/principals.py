"""Look-ups behind authentication: API tokens by hash, portal users with their roles."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.db.tables import ApiToken, Membership, PortalUser
from app.domain.enums import MemberRole


async def find_active_token(session: AsyncSession, token_hash: str) -> ApiToken | None:
    stmt = sa.select(ApiToken).where(
        col(ApiToken.token_hash) == token_hash,
        col(ApiToken.revoked_at).is_(None),
    )
    return (await session.scalars(stmt)).first()


async def find_user_roles(
    session: AsyncSession, external_id: str
) -> tuple[PortalUser, dict[int, MemberRole]] | None:
    stmt = (
        sa.select(PortalUser, col(Membership.customer_id), col(Membership.role))
        .outerjoin(Membership, col(Membership.user_id) == col(PortalUser.id))
        .where(col(PortalUser.external_id) == external_id)
    )
    rows = (await session.execute(stmt)).all()
    if not rows:
        return None
    roles = {customer_id: role for _, customer_id, role in rows if customer_id is not None}
    return rows[0][0], roles
