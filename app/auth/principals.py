"""The principal kinds and what each may see; resolvers and services ask these, never roles."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from app.domain.enums import MemberRole


class PrincipalKind(StrEnum):
    ANONYMOUS = "ANONYMOUS"
    CUSTOMER_USER = "CUSTOMER_USER"
    PARTNER = "PARTNER"
    ADMIN = "ADMIN"
    SERVICE = "SERVICE"


PURCHASING_ROLES = frozenset({MemberRole.OWNER, MemberRole.BILLING_ADMIN})


@dataclass(frozen=True)
class Principal:
    kind: PrincipalKind
    id: str = ""
    name: str = ""
    user_id: int | None = None
    partner_id: int | None = None
    roles: dict[int, MemberRole] = field(default_factory=dict)
    # Staff viewing a customer as its owner would (docs/staff-tools.md): reads only; every
    # mutation is refused with READ_ONLY_VIEW.
    read_only: bool = False

    @property
    def is_authenticated(self) -> bool:
        return self.kind is not PrincipalKind.ANONYMOUS

    @property
    def is_admin(self) -> bool:
        return self.kind is PrincipalKind.ADMIN

    def role_in(self, customer_id: int) -> MemberRole | None:
        return self.roles.get(customer_id)

    def may_purchase_for(self, customer_id: int) -> bool:
        """Owners and billing admins may place orders; viewers may only quote."""
        return self.roles.get(customer_id) in PURCHASING_ROLES

    @property
    def audit_actor(self) -> str:
        return f"{self.kind.value.lower()}:{self.id}"


ANONYMOUS = Principal(kind=PrincipalKind.ANONYMOUS)
