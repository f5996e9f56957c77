"""Drift for admins: a subscription's findings, the admin tasks, resolving one, and
resyncing a subscription. Everyone else gets FORBIDDEN (a top-level error for the list and
the mutations; a null `Subscription.drift` with the error at its path)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from app.db.repositories import drift as repo
from app.db.tables import AdminTask
from app.db.unit_of_work import unit_of_work
from app.domain.enums import AdminTaskStatus
from app.domain.errors import DomainError, ErrorCode
from app.services.drift import admin
from resolvers.audit import require_admin
from resolvers.context import RequestContext
from resolvers.errors import PublicError
from resolvers.ids import MAX_PAGE_SIZE, expect_global_id
from resolvers.subscriptions import SubscriptionView, view_of

T = TypeVar("T")


def drift_forbidden() -> PublicError:
    return PublicError(ErrorCode.FORBIDDEN, "Only staff may read a subscription's drift.")


async def admin_tasks(
    ctx: RequestContext, status: AdminTaskStatus | None, first: int | None
) -> list[AdminTask]:
    require_admin(ctx)
    limit = min(max(first or MAX_PAGE_SIZE, 1), MAX_PAGE_SIZE)
    return await ctx.read(lambda s: repo.list_tasks(s, status, limit))


async def _write(
    ctx: RequestContext, work: Callable[[AsyncSession], Awaitable[T]]
) -> T | DomainError:
    require_admin(ctx)
    try:
        async with unit_of_work(ctx.runtime.sessions) as session:
            return await work(session)
    except DomainError as error:
        return error


async def resolve_task(ctx: RequestContext, task_id: str, reason: str) -> AdminTask | DomainError:
    pk, now = expect_global_id(task_id, "AdminTask") or 0, ctx.runtime.clock.now()
    return await _write(
        ctx,
        lambda s: admin.resolve_task(
            s, ctx.principal, pk, reason, now=now, request_id=ctx.request_id
        ),
    )


async def resync(
    ctx: RequestContext, subscription_id: str, reason: str
) -> SubscriptionView | DomainError:
    pk, now = expect_global_id(subscription_id, "Subscription") or 0, ctx.runtime.clock.now()
    found = await _write(
        ctx,
        lambda s: admin.resync(s, ctx.principal, pk, reason, now=now, request_id=ctx.request_id),
    )
    if isinstance(found, DomainError):
        return found
    view = await view_of(ctx, found)
    assert view is not None
    return view
