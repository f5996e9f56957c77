"""Look-ups behind authentication: API tokens by hash, portal users with their roles."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.tables import ApiToken, Membership, PortalUser
from app.domain.enums import MemberRole


async def find_active_token(session: AsyncSession, token_hash: str) -> ApiToken | None:
    stmt = sa.select(ApiToken).where(
        ApiToken.token_hash == token_hash,  # type: ignore[arg-type]
        ApiToken.revoked_at.is_(None),  # type: ignore[union-attr]
    )
    return (await session.scalars(stmt)).first()


async def find_user_roles(
    session: AsyncSession, external_id: str
) -> tuple[PortalUser, dict[int, MemberRole]] | None:
    stmt = (
        sa.select(PortalUser, Membership.customer_id, Membership.role)
        .outerjoin(Membership, Membership.user_id == PortalUser.id)  # type: ignore[arg-type]
        .where(PortalUser.external_id == external_id)  # type: ignore[arg-type]
    )
    rows = (await session.execute(stmt)).all()
    if not rows:
        return None
    roles = {customer_id: role for _, customer_id, role in rows if customer_id is not None}
    return rows[0][0], roles
