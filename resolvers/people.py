"""A customer's people: the member list, and inviting, re-roling and removing members. Decode
the ids, run the use case in one unit of work, and turn expected failures into values."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.principals import PrincipalKind
from app.db.tables import Membership, PortalUser
from app.db.unit_of_work import unit_of_work
from app.domain.enums import MemberRole
from app.domain.errors import DomainError, ErrorCode
from app.services import people
from app.services.orders.errors import NotAllowed
from app.services.people import Change, Invitee, Member
from resolvers.access import require_member
from resolvers.context import RequestContext
from resolvers.errors import PublicError, forbidden
from resolvers.ids import expect_global_id

__all__ = ["Invitee", "Member", "change_role", "invite", "members", "remove"]

MEMBERS_FORBIDDEN = "Only the customer's members and staff may see who its members are."


async def members(ctx: RequestContext, customer_id: int) -> list[tuple[Membership, PortalUser]]:
    """Members see their colleagues, staff everyone's; a partner sees no one (FORBIDDEN)."""
    principal = ctx.principal
    if principal.kind is not PrincipalKind.ADMIN and principal.role_in(customer_id) is None:
        raise PublicError(ErrorCode.FORBIDDEN, MEMBERS_FORBIDDEN)
    found: list[tuple[Membership, PortalUser]] = await ctx.loaders.members_by_customer.load(
        customer_id
    )
    return found


async def _write(
    ctx: RequestContext,
    customer_id: str,
    reason: str | None,
    work: Callable[[AsyncSession, Change], Awaitable[Member]],
) -> Member | DomainError:
    require_member(ctx)
    change = Change(
        principal=ctx.principal,
        customer_id=expect_global_id(customer_id, "Customer") or 0,
        now=ctx.runtime.clock.now(),
        reason=reason,
        request_id=ctx.request_id,
    )
    try:
        async with unit_of_work(ctx.runtime.sessions) as session:
            return await work(session, change)
    except NotAllowed as exc:
        raise forbidden() from exc
    except DomainError as error:
        return error


async def invite(
    ctx: RequestContext, customer_id: str, invitee: Invitee, reason: str | None
) -> Member | DomainError:
    return await _write(ctx, customer_id, reason, lambda s, c: people.invite(s, c, invitee))


async def change_role(
    ctx: RequestContext, customer_id: str, external_id: str, role: MemberRole, reason: str | None
) -> Member | DomainError:
    return await _write(
        ctx, customer_id, reason, lambda s, c: people.change_role(s, c, external_id, role)
    )


async def remove(
    ctx: RequestContext, customer_id: str, external_id: str, reason: str | None
) -> Member | DomainError:
    return await _write(ctx, customer_id, reason, lambda s, c: people.remove(s, c, external_id))
