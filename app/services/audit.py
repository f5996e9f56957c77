"""The audit trail: who did what to which object, when, why, and what changed."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.principals import Principal
from app.db.tables import AuditEvent
from app.db.types import utcnow


async def record(
    session: AsyncSession,
    actor: Principal,
    action: str,
    target: tuple[str, int | str],
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str | None = None,
    request_id: str | None = None,
) -> None:
    session.add(
        AuditEvent(
            occurred_at=utcnow(),
            actor_kind=actor.kind.value,
            actor_id=actor.id or actor.kind.value.lower(),
            action=action,
            target_type=target[0],
            target_id=str(target[1]),
            reason=reason,
            before=before,
            after=after,
            request_id=request_id,
        )
    )
