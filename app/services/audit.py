"""The audit trail: who did what to which object, when, why, and what changed.

Every admin write needs a reason (docs/architecture.md, Access): a use case that changes state
checks the caller's reason with `attribution` before it writes anything, and passes the
result to `record` for each audit row it adds. Other callers may give a reason too."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.principals import Principal
from app.db.tables import AuditEvent
from app.domain.errors import DomainError, ErrorCode

MAX_REASON_LENGTH = 1000
MAX_REQUEST_ID_LENGTH = 64


@dataclass(frozen=True, slots=True)
class Attribution:
    """Why a write happens (the caller's reason) and which request asked for it."""

    reason: str | None = None
    request_id: str | None = None


UNATTRIBUTED = Attribution()


def attribution(
    principal: Principal, reason: str | None, request_id: str | None = None
) -> Attribution:
    """The checked reason (surrounding blanks dropped; blank is none) and request id.
    An admin without a reason, or any reason over 1000 characters, is a VALIDATION error."""
    cleaned = (reason or "").strip()
    if len(cleaned) > MAX_REASON_LENGTH:
        raise DomainError(
            ErrorCode.VALIDATION, f"The reason must be at most {MAX_REASON_LENGTH} characters."
        )
    if principal.is_admin and not cleaned:
        raise DomainError(
            ErrorCode.VALIDATION, "Admins must give a `reason` for every change; none was given."
        )
    return Attribution(cleaned or None, (request_id or "")[:MAX_REQUEST_ID_LENGTH] or None)


async def record(
    session: AsyncSession,
    actor: Principal,
    action: str,
    target: tuple[str, int | str],
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    attributed: Attribution = UNATTRIBUTED,
    now: datetime,
) -> None:
    """Add one audit row at `now`, the runtime clock's time (the business time, which the
    test clock moves; never the wall clock); `attributed` gives its reason and request id."""
    session.add(
        AuditEvent(
            occurred_at=now,
            actor_kind=actor.kind.value,
            actor_id=actor.id or actor.kind.value.lower(),
            action=action,
            target_type=target[0],
            target_id=str(target[1]),
            reason=attributed.reason,
            before=before,
            after=after,
            request_id=attributed.request_id,
        )
    )
