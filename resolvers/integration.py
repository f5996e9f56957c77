"""Integration events out (admins only): subscribers, their delivery log, redelivery. Anyone
else gets a top-level UNAUTHENTICATED or FORBIDDEN before anything is read or checked."""

from __future__ import annotations

from app.db.pagination import Page
from app.db.repositories import integration as repo
from app.db.repositories.integration import DeliveryView
from app.db.tables import IntegrationSubscriber
from app.domain.errors import DomainError
from app.services import audit, integration_subscribers
from app.services.integration_subscribers import Created, Redelivered, SubscriberInput
from resolvers.audit import require_admin
from resolvers.context import RequestContext
from resolvers.ids import page_request

__all__ = [
    "Created",
    "DeliveryView",
    "Redelivered",
    "SubscriberInput",
    "create",
    "deactivate",
    "deliveries",
    "redeliver",
    "subscribers",
    "update",
]


async def subscribers(
    ctx: RequestContext, first: int | None, after: str | None
) -> Page[IntegrationSubscriber]:
    require_admin(ctx)
    request = page_request(first, after)
    return await ctx.read(lambda s: repo.list_subscribers(s, request))


async def deliveries(
    ctx: RequestContext, subscriber_id: str, first: int | None, after: str | None
) -> Page[DeliveryView] | None:
    """None: no such subscriber."""
    require_admin(ctx)
    request = page_request(first, after, descending=True)

    async def read(session):  # type: ignore[no-untyped-def]
        subscriber = await repo.subscriber_by_public_id(session, subscriber_id)
        if subscriber is None or subscriber.id is None:
            return None
        return await repo.list_deliveries(session, subscriber.id, request)

    return await ctx.read(read)


async def create(
    ctx: RequestContext, given: SubscriberInput, reason: str | None
) -> Created | DomainError:
    require_admin(ctx)
    try:
        attributed = audit.attribution(ctx.principal, reason, ctx.request_id)
        return await integration_subscribers.create(ctx.runtime, ctx.principal, given, attributed)
    except DomainError as error:
        return error


async def update(
    ctx: RequestContext, public_id: str, given: SubscriberInput, reason: str | None
) -> IntegrationSubscriber | DomainError:
    require_admin(ctx)
    try:
        attributed = audit.attribution(ctx.principal, reason, ctx.request_id)
        return await integration_subscribers.update(
            ctx.runtime, ctx.principal, public_id, given, attributed
        )
    except DomainError as error:
        return error


async def deactivate(
    ctx: RequestContext, public_id: str, reason: str | None
) -> IntegrationSubscriber | DomainError:
    require_admin(ctx)
    try:
        attributed = audit.attribution(ctx.principal, reason, ctx.request_id)
        return await integration_subscribers.deactivate(
            ctx.runtime, ctx.principal, public_id, attributed
        )
    except DomainError as error:
        return error


async def redeliver(
    ctx: RequestContext, event_id: str, reason: str | None
) -> Redelivered | DomainError:
    require_admin(ctx)
    try:
        attributed = audit.attribution(ctx.principal, reason, ctx.request_id)
        return await integration_subscribers.redeliver(
            ctx.runtime, ctx.principal, event_id, attributed
        )
    except DomainError as error:
        return error
