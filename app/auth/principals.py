"""The principal kinds and what each may see; resolvers and services ask these, never roles."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum

from app.domain.enums import MemberRole


class PrincipalKind(StrEnum):
    ANONYMOUS = "ANONYMOUS"
    CUSTOMER_USER = "CUSTOMER_USER"
    PARTNER = "PARTNER"
    ADMIN = "ADMIN"
    SERVICE = "SERVICE"


class MembershipState(StrEnum):
    """Where a signed-in customer user stands (`viewer.membershipState`)."""

    MEMBER = "MEMBER"  # belongs to at least one customer
    NO_MEMBERSHIP = "NO_MEMBERSHIP"  # known (a portal user), but a member of no customer
    UNPROVISIONED = "UNPROVISIONED"  # a valid token for someone the API has never seen


PURCHASING_ROLES = frozenset({MemberRole.OWNER, MemberRole.BILLING_ADMIN})


@dataclass(frozen=True)
class Principal:
    kind: PrincipalKind
    id: str = ""
    name: str = ""
    user_id: int | None = None
    partner_id: int | None = None
    roles: dict[int, MemberRole] = field(default_factory=dict)
    email: str | None = None  # customer users: the portal user's, or the token's `email` claim
    # Staff viewing a customer as its owner would (docs/staff-tools.md): reads only; every
    # mutation is refused with READ_ONLY_VIEW.
    read_only: bool = False

    @property
    def is_authenticated(self) -> bool:
        return self.kind is not PrincipalKind.ANONYMOUS

    @property
    def is_admin(self) -> bool:
        return self.kind is PrincipalKind.ADMIN

    @property
    def is_provisioned(self) -> bool:
        """Customer users: whether a portal user row exists (a token for someone never seen
        before authenticates too, with no user row and no membership)."""
        return self.user_id is not None

    @property
    def has_no_membership(self) -> bool:
        """A customer user who belongs to no customer: may only start a first purchase."""
        return self.kind is PrincipalKind.CUSTOMER_USER and not self.roles

    @property
    def membership_state(self) -> MembershipState | None:
        """None for principals other than customer users."""
        if self.kind is not PrincipalKind.CUSTOMER_USER:
            return None
        if self.roles:
            return MembershipState.MEMBER
        if not self.is_provisioned:
            return MembershipState.UNPROVISIONED
        return MembershipState.NO_MEMBERSHIP

    def with_role(self, customer_id: int, role: MemberRole, user_id: int) -> Principal:
        """This principal after it was made a member of `customer_id` (a first purchase)."""
        return replace(self, user_id=user_id, roles={**self.roles, customer_id: role})

    def role_in(self, customer_id: int) -> MemberRole | None:
        return self.roles.get(customer_id)

    def may_purchase_for(self, customer_id: int) -> bool:
        """Owners and billing admins may place orders; viewers may only quote."""
        return self.roles.get(customer_id) in PURCHASING_ROLES

    @property
    def audit_actor(self) -> str:
        return f"{self.kind.value.lower()}:{self.id}"


ANONYMOUS = Principal(kind=PrincipalKind.ANONYMOUS)
