"""Turn a bearer credential into a principal. No credential: anonymous; a bad one: refused."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.principals import ANONYMOUS, Principal, PrincipalKind
from app.auth.tokens import (
    InvalidCredentials,
    hash_api_token,
    is_api_token,
    is_staff_view_token,
    verify_staff_view_token,
    verify_user_jwt,
)
from app.config import Settings
from app.db.repositories.principals import find_active_token, find_user_roles
from app.db.scope import EVERYTHING, NOTHING, ReadScope
from app.db.tables import ApiToken, Customer
from app.domain.enums import MemberRole, TokenKind

_TOKEN_PRINCIPALS = {
    TokenKind.PARTNER: PrincipalKind.PARTNER,
    TokenKind.ADMIN: PrincipalKind.ADMIN,
    TokenKind.SERVICE: PrincipalKind.SERVICE,
}


def bearer_credential(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, credential = authorization.partition(" ")
    if scheme.lower() != "bearer" or not credential.strip():
        raise InvalidCredentials("expected 'Authorization: Bearer <token>'")
    return credential.strip()


async def authenticate(
    session: AsyncSession, settings: Settings, authorization: str | None
) -> Principal:
    credential = bearer_credential(authorization)
    if credential is None:
        return ANONYMOUS
    if is_api_token(credential):
        return await _token_principal(session, credential)
    if is_staff_view_token(credential):
        return await _staff_view_principal(session, settings, credential)
    return await _user_principal(session, settings, credential)


async def _staff_view_principal(
    session: AsyncSession, settings: Settings, credential: str
) -> Principal:
    """The customer's owner as staff sees it, read-only, while the admin token that asked
    for the view is still active and the customer exists."""
    claims = verify_staff_view_token(settings, credential)
    admin = await session.get(ApiToken, claims.admin_token_id)
    if admin is None or admin.kind is not TokenKind.ADMIN or admin.revoked_at is not None:
        raise InvalidCredentials("the staff token of this view was revoked")
    if await session.get(Customer, claims.customer_id) is None:
        raise InvalidCredentials("the customer of this view no longer exists")
    return Principal(
        kind=PrincipalKind.CUSTOMER_USER,
        id=f"staff-view:{admin.id}",
        name=f"{admin.name} (read-only view)",
        roles={claims.customer_id: MemberRole.OWNER},
        read_only=True,
    )


async def _token_principal(session: AsyncSession, credential: str) -> Principal:
    token = await find_active_token(session, hash_api_token(credential))
    if token is None:
        raise InvalidCredentials("unknown or revoked API token")
    return Principal(
        kind=_TOKEN_PRINCIPALS[token.kind],
        id=str(token.id),
        name=token.name,
        partner_id=token.partner_id,
    )


async def _user_principal(session: AsyncSession, settings: Settings, credential: str) -> Principal:
    claims = verify_user_jwt(settings, credential)
    found = await find_user_roles(session, claims.external_id)
    if found is None:
        # A signed, unexpired token for someone the API has never seen: signed in, but not
        # provisioned (no portal user, no membership). They may start a first purchase.
        return Principal(
            kind=PrincipalKind.CUSTOMER_USER,
            id=claims.external_id,
            name=claims.name or "",
            email=claims.email,
        )
    user, roles = found
    return Principal(
        kind=PrincipalKind.CUSTOMER_USER,
        id=user.external_id,
        name=user.name,
        email=user.email,
        user_id=user.id,
        roles=roles,
    )


def read_scope(principal: Principal) -> ReadScope:
    if principal.kind is PrincipalKind.ADMIN:
        return EVERYTHING
    if principal.kind is PrincipalKind.PARTNER and principal.partner_id is not None:
        return ReadScope(partner_id=principal.partner_id)
    if principal.kind is PrincipalKind.CUSTOMER_USER:
        return ReadScope(customer_ids=frozenset(principal.roles))
    return NOTHING
