"""The caller's notifications: customer users have them; other principals have none."""

from __future__ import annotations

from app.auth.principals import PrincipalKind
from app.db.pagination import Page
from app.db.repositories import notifications as repo
from app.db.tables import Notification
from app.db.unit_of_work import unit_of_work
from app.domain.errors import DomainError
from app.services import notifications
from resolvers.context import RequestContext
from resolvers.errors import forbidden, no_membership, unauthenticated
from resolvers.ids import expect_global_id, page_request

EMPTY: Page[Notification] = Page((), has_next=False, has_previous=False)


def _user_id(ctx: RequestContext) -> int | None:
    principal = ctx.principal
    return principal.user_id if principal.kind is PrincipalKind.CUSTOMER_USER else None


async def list_page(
    ctx: RequestContext, first: int | None, after: str | None, *, unread_only: bool
) -> Page[Notification]:
    """Newest first."""
    user_id = _user_id(ctx)
    request = page_request(first, after, descending=True)
    if user_id is None:
        return EMPTY
    return await ctx.read(
        lambda s: repo.list_for_user(s, user_id, request, unread_only=unread_only)
    )


async def unread_count(ctx: RequestContext) -> int:
    user_id = _user_id(ctx)
    if user_id is None:
        return 0
    return await ctx.read(lambda s: repo.unread_count(s, user_id))


async def mark_read(ctx: RequestContext, ids: list[str] | None) -> int | DomainError:
    """Mark the given notifications (or, with None, every unread one) read."""
    if not ctx.principal.is_authenticated:
        raise unauthenticated()
    user_id = _user_id(ctx)
    if user_id is None:
        raise no_membership() if ctx.principal.has_no_membership else forbidden()
    pks = None if ids is None else [expect_global_id(i, "Notification") or 0 for i in ids]
    try:
        async with unit_of_work(ctx.runtime.sessions) as session:
            return await notifications.mark_read(session, user_id, pks, ctx.runtime.clock.now())
    except DomainError as error:
        return error


async def by_id(ctx: RequestContext, pk: int) -> Notification | None:
    """For `node(id)`: the caller's own notification, else null."""
    user_id = _user_id(ctx)
    if user_id is None:
        return None
    return await ctx.read(lambda s: repo.by_id_for_user(s, user_id, pk))
