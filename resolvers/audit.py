"""The audit log: staff only. Others get a top-level FORBIDDEN for the list and null for a
node, and the repository's scope would return no rows to them anyway."""

from __future__ import annotations

from app.auth.principals import PrincipalKind
from app.db.pagination import Page
from app.db.repositories import audit as repo
from app.db.repositories.audit import AuditEventFilter
from app.db.tables import AuditEvent
from resolvers.context import RequestContext
from resolvers.errors import forbidden, unauthenticated
from resolvers.ids import page_request

__all__ = ["AuditEventFilter", "by_id", "list_page", "require_admin"]


def require_admin(ctx: RequestContext) -> None:
    if not ctx.principal.is_authenticated:
        raise unauthenticated()
    if ctx.principal.kind is not PrincipalKind.ADMIN:
        raise forbidden()


async def list_page(
    ctx: RequestContext, first: int | None, after: str | None, filters: AuditEventFilter
) -> Page[AuditEvent]:
    """Newest first (keyset on the id, descending)."""
    require_admin(ctx)
    request = page_request(first, after, descending=True)
    return await ctx.read(lambda s: repo.list_audit_events(s, ctx.scope, request, filters))


async def by_id(ctx: RequestContext, pk: int) -> AuditEvent | None:
    """For `node(id)`: null for anyone but an admin, without reading anything. An audit event
    hangs off nothing, so there is no list to batch: one primary-key read."""
    if not ctx.principal.is_admin:
        return None
    found = await ctx.read(lambda s: repo.audit_events_by_ids(s, ctx.scope, [pk]))
    return found.get(pk)
