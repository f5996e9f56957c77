"""Quotes and orders: convert GraphQL input to an order request, call the use case, and turn
expected failures into values (never exceptions) for the result unions."""

from __future__ import annotations

from dataclasses import dataclass

from app.domain.buyers import NewCustomer
from app.domain.errors import DomainError, ErrorCode
from app.domain.pricing import OrderAction
from app.observability.orders import order_outcome
from app.services.orders.context import OrderDeps
from app.services.orders.errors import NoMembership, NotAllowed
from app.services.orders.placing import PlacedOrder, place_order
from app.services.orders.quoting import Quote, quote_order

__all__ = ["OrderDraft", "PlacedOrder", "Quote", "place", "quote", "to_request"]
from app.services.orders.requests import DeploymentRef, OrderRequest
from resolvers.access import require_member, require_reader
from resolvers.context import RequestContext
from resolvers.errors import forbidden, no_membership
from resolvers.ids import expect_global_id


@dataclass(frozen=True, slots=True)
class OrderDraft:
    """The order input as the schema parsed it, ids still global."""

    customer_id: str | None
    subscription_id: str | None
    deployment: DeploymentRef | None
    actions: tuple[OrderAction, ...]
    promo_code: str | None
    new_customer: NewCustomer | None = None  # a first purchase


async def to_request(ctx: RequestContext, draft: OrderDraft) -> OrderRequest:
    given = [draft.customer_id, draft.subscription_id, draft.new_customer]
    if sum(value is not None for value in given) != 1:
        raise DomainError(
            ErrorCode.VALIDATION,
            "Give exactly one of `customerId`, `subscriptionId` or `newCustomer`.",
        )
    if draft.new_customer is not None:
        if draft.deployment is None:
            raise DomainError(
                ErrorCode.VALIDATION, "A first purchase starts with `createSubscription`."
            )
        return OrderRequest(
            customer_id=0,
            subscription_id=None,
            deployment=draft.deployment,
            actions=draft.actions,
            promo_code=(draft.promo_code or "").strip() or None,
            new_customer=draft.new_customer,
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
    if draft.new_customer is None:
        require_member(ctx)
    else:
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
        if placed.placer is not None and placed.placer != ctx.principal:
            ctx.became(placed.placer)
        return placed
    except NotAllowed as exc:
        outcome = "refused"
        raise forbidden() from exc
    except NoMembership as exc:
        outcome = "refused"
        raise no_membership() from exc
    except DomainError as error:
        outcome = order_outcome(error)
        return error
    finally:
        orders.labels(outcome).inc()
