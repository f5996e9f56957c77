"""Promo codes for admins: the list, creating one, expiring one. Everyone else gets
FORBIDDEN (a top-level error)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from app.db.pagination import Page
from app.db.repositories import commerce
from app.db.tables import Promotion
from app.db.unit_of_work import unit_of_work
from app.domain.errors import DomainError
from app.domain.promotion_terms import PromotionTerms
from app.services import promotions
from resolvers.audit import require_admin
from resolvers.context import RequestContext
from resolvers.ids import expect_global_id, page_request

T = TypeVar("T")


async def list_page(
    ctx: RequestContext, first: int | None, after: str | None, active: bool | None
) -> Page[Promotion]:
    require_admin(ctx)
    request = page_request(first, after)
    return await ctx.read(lambda s: commerce.list_promotions(s, request, active))


async def _write(
    ctx: RequestContext, work: Callable[[AsyncSession], Awaitable[T]]
) -> T | DomainError:
    require_admin(ctx)
    try:
        async with unit_of_work(ctx.runtime.sessions) as session:
            return await work(session)
    except DomainError as error:
        return error


async def create(
    ctx: RequestContext, terms: PromotionTerms, reason: str
) -> Promotion | DomainError:
    now = ctx.runtime.clock.now()
    return await _write(
        ctx,
        lambda s: promotions.create(
            s, ctx.principal, terms, reason, now=now, request_id=ctx.request_id
        ),
    )


async def expire(ctx: RequestContext, promotion_id: str, reason: str) -> Promotion | DomainError:
    pk, now = expect_global_id(promotion_id, "Promotion") or 0, ctx.runtime.clock.now()
    return await _write(
        ctx,
        lambda s: promotions.expire(
            s, ctx.principal, pk, reason, now=now, request_id=ctx.request_id
        ),
    )
