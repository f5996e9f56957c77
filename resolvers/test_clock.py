"""testClockAdvance: admins only, and only where the test clock is on."""

from __future__ import annotations

from datetime import datetime

from app.domain.errors import DomainError
from app.services import audit, test_clock
from app.services.test_clock import Advanced
from resolvers.audit import require_admin
from resolvers.context import RequestContext

__all__ = ["Advanced", "advance"]


async def advance(ctx: RequestContext, to: datetime, reason: str | None) -> Advanced | DomainError:
    require_admin(ctx)
    try:
        attributed = audit.attribution(ctx.principal, reason, ctx.request_id)
        return await test_clock.advance(ctx.runtime, ctx.principal, to, attributed)
    except DomainError as error:
        return error
