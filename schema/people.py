"""A customer's people: its members with their roles, and the mutations of its owners (and
staff) that invite, re-role and remove them (docs/customers-and-people.md)."""

from __future__ import annotations

import strawberry

from app.domain.errors import DomainError
from resolvers import people as resolve
from schema import described
from schema.audit import Reason
from schema.customers import Customer
from schema.enums import MemberRole
from schema.errors import (
    NotFoundError,
    RuleViolation,
    ValidationError,
    result_union,
    user_error,
)


@strawberry.type(description="A person who signs in through the SaaS frontend.")
class PortalUser:
    external_id: str = strawberry.field(description="The frontend's user id (the JWT `sub`).")
    name: str
    email: str


@strawberry.type(description="A portal user's membership of a customer, with its role.")
class CustomerMember:
    user: PortalUser
    role: MemberRole


@strawberry.input
class CustomerMemberInviteInput:
    customer_id: strawberry.ID
    external_id: str = strawberry.field(description="The user's id at the frontend (JWT `sub`).")
    role: MemberRole
    email: str | None = strawberry.field(
        default=None, description="Required for a user who has never signed in."
    )
    name: str | None = strawberry.field(default=None, description="Defaults to the email.")


@strawberry.input
class CustomerMemberRoleChangeInput:
    customer_id: strawberry.ID
    external_id: str
    role: MemberRole


@strawberry.input
class CustomerMemberRemoveInput:
    customer_id: strawberry.ID
    external_id: str


@strawberry.type
class CustomerMemberPayload:
    member: CustomerMember
    customer: Customer


@strawberry.type
class CustomerMemberRemovePayload:
    removed_external_id: str
    customer: Customer


# VALIDATION (a reason, an external id, an email), NOT_FOUND (a customer out of scope), and the
# rules (MEMBER_ALREADY_EXISTS, USER_NOT_A_MEMBER, LAST_OWNER) are all these can answer.
_ERRORS = (ValidationError, NotFoundError, RuleViolation)
CustomerMemberResult = result_union("CustomerMemberResult", CustomerMemberPayload, *_ERRORS)
CustomerMemberRemoveResult = result_union(
    "CustomerMemberRemoveResult", CustomerMemberRemovePayload, *_ERRORS
)


def _payload(member: resolve.Member) -> CustomerMemberPayload:
    assert member.role is not None
    return CustomerMemberPayload(
        member=CustomerMember(
            user=PortalUser(
                external_id=member.user.external_id, name=member.user.name, email=member.user.email
            ),
            role=member.role,
        ),
        customer=Customer.from_row(member.customer),
    )


@strawberry.type
class PeopleMutations:
    @described.mutation(
        description="Owners and staff: make a user (by external id) a member with a role "
        "(audited). A user who never signed in gets a portal user row (give `email`). "
        "MEMBER_ALREADY_EXISTS if they are a member already."
    )
    async def customer_member_invite(
        self, info: strawberry.Info, input: CustomerMemberInviteInput, reason: Reason = None
    ) -> CustomerMemberResult:  # type: ignore[valid-type]
        invitee = resolve.Invitee(
            external_id=input.external_id,
            role=input.role,
            email=input.email,
            name=input.name,
        )
        found = await resolve.invite(info.context, input.customer_id, invitee, reason)
        return user_error(found) if isinstance(found, DomainError) else _payload(found)

    @described.mutation(
        description="Owners and staff: change a member's role (audited). LAST_OWNER if it "
        "would leave the customer without an owner."
    )
    async def customer_member_role_change(
        self, info: strawberry.Info, input: CustomerMemberRoleChangeInput, reason: Reason = None
    ) -> CustomerMemberResult:  # type: ignore[valid-type]
        found = await resolve.change_role(
            info.context,
            input.customer_id,
            input.external_id,
            input.role,
            reason,
        )
        return user_error(found) if isinstance(found, DomainError) else _payload(found)

    @described.mutation(
        description="Owners and staff: remove a member (audited); their access ends at once. "
        "LAST_OWNER for the customer's only owner."
    )
    async def customer_member_remove(
        self, info: strawberry.Info, input: CustomerMemberRemoveInput, reason: Reason = None
    ) -> CustomerMemberRemoveResult:  # type: ignore[valid-type]
        found = await resolve.remove(info.context, input.customer_id, input.external_id, reason)
        if isinstance(found, DomainError):
            return user_error(found)
        return CustomerMemberRemovePayload(
            removed_external_id=found.user.external_id, customer=Customer.from_row(found.customer)
        )
