"""A customer's people: inviting a user by external id with a role, changing a member's role,
removing a member. For the customer's owners and staff (admins give a reason); each change is
one audit row on the customer ("member.invited", "member.role_changed", "member.removed").

Rules: a customer always keeps an owner (removing or demoting the last one is LAST_OWNER);
inviting a member again is MEMBER_ALREADY_EXISTS (change the role instead); a change or a
removal of someone who is not a member is USER_NOT_A_MEMBER. An invited user who never signed
in gets a portal user row keyed by the external id, found when they first sign in. Access is
read from the memberships on every request, so a removed member loses it at once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.authenticate import read_scope
from app.auth.principals import Principal, PrincipalKind
from app.db.repositories import people
from app.db.repositories.customers import customers_by_ids
from app.db.tables import Customer, Membership, PortalUser
from app.db.tables.customers import MAX_EXTERNAL_ID_LENGTH
from app.domain.buyers import invalid
from app.domain.enums import MemberRole
from app.domain.errors import DomainError, ErrorCode
from app.services import audit
from app.services.orders.errors import NotAllowed

NO_SUCH_CUSTOMER = DomainError(ErrorCode.NOT_FOUND, "No such customer.")
LAST_OWNER = DomainError(
    ErrorCode.LAST_OWNER,
    "A customer must keep at least one owner: make another member an owner first.",
)


@dataclass(frozen=True, slots=True)
class Invitee:
    external_id: str
    role: MemberRole
    email: str | None = None
    name: str | None = None


@dataclass(frozen=True, slots=True)
class Member:
    """A member after the change (role None: removed)."""

    customer: Customer
    user: PortalUser
    role: MemberRole | None


@dataclass(frozen=True, slots=True)
class Change:
    """Who asks, about which customer, when and why."""

    principal: Principal
    customer_id: int
    now: datetime
    reason: str | None = None
    request_id: str | None = None


async def invite(session: AsyncSession, change: Change, invitee: Invitee) -> Member:
    attributed, customer = await _authorised(session, change)
    external_id = _external_id(invitee.external_id)
    user = await people.user_by_external_id(session, external_id)
    memberships = await people.locked_memberships(session, change.customer_id)
    if user is not None and _membership(memberships, user) is not None:
        raise DomainError(
            ErrorCode.MEMBER_ALREADY_EXISTS,
            f"`{external_id}` is already a member of this customer; change their role instead.",
        )
    if user is None:
        user = await _new_user(session, external_id, invitee)
    assert user.id is not None
    session.add(Membership(customer_id=change.customer_id, user_id=user.id, role=invitee.role))
    await session.flush()
    await _audit(session, change, attributed, "member.invited", None, invitee.role, user)
    return Member(customer, user, invitee.role)


async def change_role(
    session: AsyncSession, change: Change, external_id: str, role: MemberRole
) -> Member:
    attributed, customer = await _authorised(session, change)
    user, membership, memberships = await _member(session, change, external_id)
    before = membership.role
    if before is MemberRole.OWNER and role is not MemberRole.OWNER:
        _keep_an_owner(memberships, membership)
    if before is not role:
        membership.role = role
        await session.flush()
        await _audit(session, change, attributed, "member.role_changed", before, role, user)
    return Member(customer, user, role)


async def remove(session: AsyncSession, change: Change, external_id: str) -> Member:
    attributed, customer = await _authorised(session, change)
    user, membership, memberships = await _member(session, change, external_id)
    if membership.role is MemberRole.OWNER:
        _keep_an_owner(memberships, membership)
    before = membership.role
    await session.delete(membership)
    await session.flush()
    await _audit(session, change, attributed, "member.removed", before, None, user)
    return Member(customer, user, None)


def may_manage_members(principal: Principal, customer_id: int) -> bool:
    """The customer's owners and staff; billing admins and viewers may not."""
    if principal.kind is PrincipalKind.ADMIN:
        return True
    return principal.role_in(customer_id) is MemberRole.OWNER


async def _authorised(session: AsyncSession, change: Change) -> tuple[audit.Attribution, Customer]:
    """The checked reason and the customer: NOT_FOUND outside the caller's scope (another
    customer's owner), a top-level FORBIDDEN for members who are not owners, and for
    partners and the product service."""
    principal = change.principal
    if principal.kind not in (PrincipalKind.ADMIN, PrincipalKind.CUSTOMER_USER):
        raise NotAllowed
    attributed = audit.attribution(principal, change.reason, change.request_id)
    customer = (await customers_by_ids(session, read_scope(principal), [change.customer_id])).get(
        change.customer_id
    )
    if customer is None:
        raise NO_SUCH_CUSTOMER
    if not may_manage_members(principal, change.customer_id):
        raise NotAllowed
    return attributed, customer


async def _member(
    session: AsyncSession, change: Change, external_id: str
) -> tuple[PortalUser, Membership, list[Membership]]:
    cleaned = _external_id(external_id)
    user = await people.user_by_external_id(session, cleaned)
    memberships = await people.locked_memberships(session, change.customer_id)
    membership = None if user is None else _membership(memberships, user)
    if user is None or membership is None:
        raise DomainError(
            ErrorCode.USER_NOT_A_MEMBER, f"`{cleaned}` is not a member of this customer."
        )
    return user, membership, memberships


def _membership(memberships: list[Membership], user: PortalUser) -> Membership | None:
    return next((m for m in memberships if m.user_id == user.id), None)


def _keep_an_owner(memberships: list[Membership], leaving: Membership) -> None:
    if not [m for m in people.owners(memberships) if m.id != leaving.id]:
        raise LAST_OWNER


def _external_id(raw: str) -> str:
    cleaned = raw.strip()
    if not 1 <= len(cleaned) <= MAX_EXTERNAL_ID_LENGTH:
        raise invalid(f"The user's external id must be 1-{MAX_EXTERNAL_ID_LENGTH} characters.")
    return cleaned


async def _new_user(session: AsyncSession, external_id: str, invitee: Invitee) -> PortalUser:
    """The portal user of someone invited before they ever signed in."""
    email = (invitee.email or "").strip()
    if "@" not in email or len(email) > 320 or any(c.isspace() for c in email):
        raise invalid(f"`{external_id}` has never signed in: give their `email` to invite them.")
    name = (invitee.name or "").strip() or email
    if len(name) > 200:
        raise invalid("The name must be at most 200 characters.")
    user = PortalUser(external_id=external_id, email=email, name=name)
    session.add(user)
    await session.flush()
    return user


async def _audit(
    session: AsyncSession,
    change: Change,
    attributed: audit.Attribution,
    action: str,
    before: MemberRole | None,
    after: MemberRole | None,
    user: PortalUser,
) -> None:
    def state(role: MemberRole | None) -> dict[str, str | None]:
        return {"user": user.external_id, "role": None if role is None else role.value}

    await audit.record(
        session,
        change.principal,
        action,
        ("Customer", change.customer_id),
        before=None if before is None else state(before),
        after=None if after is None else state(after),
        attributed=attributed,
        now=change.now,
    )
