"""What an order keeps so that a worker can finish it without its client: the signed
quote's payload (checked when the order was claimed), who placed it, and why."""

from __future__ import annotations

from typing import Any

from app.auth.principals import Principal, PrincipalKind
from app.domain.enums import MemberRole
from app.services import audit


def resume_record(
    principal: Principal, customer_id: int, payload: dict[str, Any], attributed: audit.Attribution
) -> dict[str, Any]:
    role = principal.roles.get(customer_id)
    return {
        "quote": payload,
        "placer": {
            "kind": principal.kind.value,
            "id": principal.id,
            "name": principal.name,
            "user_id": principal.user_id,
            "partner_id": principal.partner_id,
            "role": role.value if role else None,
        },
        "reason": attributed.reason,
        "request_id": attributed.request_id,
    }


def placer(resume: dict[str, Any], customer_id: int) -> Principal:
    """The principal the order was placed by, as far as executing it needs: its kind (the
    pricing rules and sales channel), its id (the audit rows) and its read scope."""
    who = resume["placer"]
    role = who["role"]
    return Principal(
        kind=PrincipalKind(who["kind"]),
        id=who["id"],
        name=who["name"],
        user_id=who["user_id"],
        partner_id=who["partner_id"],
        roles={customer_id: MemberRole(role)} if role else {},
    )


def attribution(resume: dict[str, Any]) -> audit.Attribution:
    return audit.Attribution(resume["reason"], resume["request_id"])
