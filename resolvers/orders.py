"""Quotes and orders: convert GraphQL input to an order request, call the use case, and turn
expected failures into values (never exceptions) for the result unions."""

from __future__ import annotations

from dataclasses import dataclass

from app.domain.errors import DomainError, ErrorCode
from app.domain.pricing import OrderAction
from app.observability.orders import order_outcome
from app.services.orders.context import OrderDeps
from app.services.orders.errors import NotAllowed
from app.services.orders.placing import PlacedOrder, place_order
from app.services.orders.quoting import Quote, quote_order

__all__ = ["OrderDraft", "PlacedOrder", "Quote", "place", "quote", "to_request"]
from app.services.orders.requests import DeploymentRef, OrderRequest
from resolvers.access import require_reader
from resolvers.context import RequestContext
from resolvers.errors import forbidden
from resolvers.ids import expect_global_id


@dataclass(frozen=True, slots=True)
class OrderDraft:
    """The order input as the schema parsed it, ids still global."""

    customer_id: str | None
    subscription_id: str | None
    deployment: DeploymentRef | None
    actions: tuple[OrderAction, ...]
    promo_code: str | None


async def to_request(ctx: RequestContext, draft: OrderDraft) -> OrderRequest:
    if (draft.customer_id is None) == (draft.subscription_id is None):
        raise DomainError(
            ErrorCode.VALIDATION, "Give exactly one of `customerId` or `subscriptionId`."
        )
    if draft.subscription_id is not None:
        pk = expect_global_id(draft.subscription_id, "Subscription")
        subscription = None if pk is None else await ctx.loaders.subscription.load(pk)
        if subscription is None:
            raise DomainError(ErrorCode.NOT_FOUND, "No such subscription.")
        customer_id, subscription_id = subscription.customer_id, subscription.id
    else:
        customer_id = expect_global_id(draft.customer_id or "", "Customer") or 0
        subscription_id = None
        if draft.deployment is None:
            raise DomainError(
                ErrorCode.VALIDATION, "An order for a customer starts with `createSubscription`."
            )
    return OrderRequest(
        customer_id=customer_id,
        subscription_id=subscription_id,
        deployment=draft.deployment,
        actions=draft.actions,
        promo_code=(draft.promo_code or "").strip() or None,
    )


async def quote(ctx: RequestContext, draft: OrderDraft) -> Quote | DomainError:
    require_reader(ctx)
    try:
        request = await to_request(ctx, draft)
        return await ctx.read(
            lambda s: quote_order(
                s,
                ctx.principal,
                request,
                clock=ctx.runtime.clock,
                settings=ctx.runtime.settings,
                taxes=ctx.runtime.providers.tax,
            )
        )
    except NotAllowed as exc:
        raise forbidden() from exc
    except DomainError as error:
        return error


async def place(
    ctx: RequestContext, token: str, idempotency_key: str, reason: str | None = None
) -> PlacedOrder | DomainError:
    require_reader(ctx)
    runtime = ctx.runtime
    deps = OrderDeps(
        runtime.sessions,
        runtime.providers.billing,
        runtime.clock,
        runtime.settings,
        runtime.turns,
        runtime.providers.tax,
    )
    orders, outcome = runtime.metrics.orders, "failed"  # an exception: a bug, or cancelled
    try:
        placed = await place_order(
            deps,
            ctx.principal,
            token,
            idempotency_key,
            reason=reason,
            request_id=ctx.request_id,
        )
        outcome = order_outcome(None)
        return placed
    except NotAllowed as exc:
        outcome = "refused"
        raise forbidden() from exc
    except DomainError as error:
        outcome = order_outcome(error)
        return error
    finally:
        orders.labels(outcome).inc()
