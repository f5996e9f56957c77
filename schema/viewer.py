"""The caller: what kind of principal, and for customer users their memberships."""

from __future__ import annotations

import strawberry

from resolvers import customers as resolve
from resolvers.context import RequestContext
from schema import described
from schema.customers import Customer, Partner
from schema.enums import MemberRole, MembershipState, PrincipalKind
from schema.notifications import ViewerNotifications


@strawberry.type
class Membership:
    role: MemberRole
    customer: Customer


@strawberry.type
class Viewer(ViewerNotifications):
    kind: PrincipalKind
    name: str
    membership_state: MembershipState | None = strawberry.field(
        description="Customer users: MEMBER, NO_MEMBERSHIP or UNPROVISIONED; null for others."
    )
    can_start_first_purchase: bool = strawberry.field(
        description="True for a customer user who belongs to no customer: `orderQuote` with "
        "`newCustomer`, then `orderPlace`, creates their customer and makes them its owner."
    )

    @strawberry.field
    async def memberships(self, info: strawberry.Info) -> list[Membership]:
        found = await resolve.viewer_memberships(info.context)
        return [
            Membership(role=role, customer=Customer.from_row(c))  # type: ignore[arg-type]
            for c, role in found
        ]

    @described.field(description="For partner tokens: the partner.")
    async def partner(self, info: strawberry.Info) -> Partner | None:
        ctx: RequestContext = info.context
        found = await resolve.partner(ctx, ctx.principal.partner_id)
        return None if found is None else Partner.from_row(found)
