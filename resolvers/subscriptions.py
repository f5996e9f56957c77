"""Subscriptions: root look-ups, the edges around them, seat figures and allowed actions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from app.auth.policy import caller_for
from app.db.pagination import Page
from app.db.repositories import subscriptions as repo
from app.db.repositories.subscriptions import SubscriptionFilter
from app.db.tables import (
    ConsumablePurchase,
    OutboxMessage,
    Product,
    Subscription,
)
from app.domain.eligibility import ActionVerdicts, SubscriptionFacts, evaluate_actions
from app.domain.enums import OutboxStatus, ProvisioningStatus, SubscriptionStatus
from app.domain.seats import SeatFigures, seat_figures
from resolvers.access import require_reader
from resolvers.context import RequestContext
from resolvers.errors import invalid
from resolvers.ids import expect_global_id, page_request


@dataclass(frozen=True, slots=True)
class SubscriptionView:
    row: Subscription
    plan: Product

    @property
    def figures(self) -> SeatFigures:
        return seat_figures(
            seats=self.row.seats,
            seats_in_use=self.row.seats_in_use,
            max_seats_used=self.row.max_seats_used,
            paid=self.plan.tier > 0,
            trial=self.row.status is SubscriptionStatus.TRIAL,
            comp_seats=self.row.comp_seats,
        )


async def with_plans(ctx: RequestContext, rows: Sequence[Subscription]) -> list[SubscriptionView]:
    plans = await ctx.loaders.product.load_many([row.plan_id for row in rows])
    return [SubscriptionView(row, _plan(row, plan)) for row, plan in zip(rows, plans, strict=True)]


def _plan(row: Subscription, plan: Product | None) -> Product:
    if plan is None:  # a foreign key: the database keeps the plan
        raise LookupError(f"plan {row.plan_id} of subscription {row.id} missing")
    return plan


async def view_of(ctx: RequestContext, row: Subscription | None) -> SubscriptionView | None:
    if row is None:
        return None
    return (await with_plans(ctx, [row]))[0]


async def list_page(
    ctx: RequestContext, first: int | None, after: str | None, filters: SubscriptionFilter
) -> tuple[Page[Subscription], list[SubscriptionView]]:
    require_reader(ctx)
    request = page_request(first, after)
    page = await ctx.read(lambda s: repo.list_subscriptions(s, ctx.scope, request, filters))
    return page, await with_plans(ctx, page.items)


async def find(
    ctx: RequestContext, global_id: str | None, number: str | None, deployment: str | None
) -> SubscriptionView | None:
    require_reader(ctx)
    given = [value for value in (global_id, number, deployment) if value is not None]
    if len(given) != 1:
        raise invalid("Give exactly one of `id`, `number` or `deployment`.")
    if global_id is not None:
        pk = expect_global_id(global_id, "Subscription")
        return await view_of(ctx, None if pk is None else await ctx.loaders.subscription.load(pk))
    if number is not None:
        row = await ctx.read(lambda s: repo.subscription_by_number(s, ctx.scope, number))
    else:
        assert deployment is not None
        row = await ctx.read(
            lambda s: repo.live_subscription_by_deployment(s, ctx.scope, deployment)
        )
    return await view_of(ctx, row)


async def by_id(ctx: RequestContext, pk: int) -> SubscriptionView | None:
    return await view_of(ctx, await ctx.loaders.subscription.load(pk))


async def page_for_customer(
    ctx: RequestContext, customer_id: int, first: int | None, after: str | None
) -> tuple[Page[Subscription], list[SubscriptionView]]:
    key = (customer_id, page_request(first, after))
    page: Page[Subscription] = await ctx.loaders.subscription_pages_by_customer.load(key)
    return page, await with_plans(ctx, page.items)


async def consumables(ctx: RequestContext, subscription_id: int) -> list[ConsumablePurchase]:
    found: list[ConsumablePurchase] = await ctx.loaders.consumables_by_subscription.load(
        subscription_id
    )
    return found


@dataclass(frozen=True, slots=True)
class ProvisioningState:
    """The subscription's provisioning status with its latest push's attempts: `attempts`
    counts failed tries, `next_attempt_at` is set while a push is still to be made."""

    status: ProvisioningStatus
    attempts: int = 0
    last_error: str | None = None
    last_attempt_at: datetime | None = None
    next_attempt_at: datetime | None = None


def provisioning_state(row: Subscription, message: OutboxMessage | None) -> ProvisioningState:
    """The state from the subscription and its latest provisioning message (if any)."""
    if message is None:
        return ProvisioningState(status=row.provisioning_status)
    pending = message.status is OutboxStatus.PENDING
    return ProvisioningState(
        status=row.provisioning_status,
        attempts=message.attempts,
        last_error=message.last_error,
        last_attempt_at=message.last_attempt_at,
        next_attempt_at=message.available_at if pending else None,
    )


def verdicts(
    ctx: RequestContext, view: SubscriptionView, bounds: tuple[int, int]
) -> ActionVerdicts:
    """The allowed actions, given the catalog's (lowest paid, highest) plan tiers."""
    lowest_paid, top = bounds
    row = view.row
    facts = SubscriptionFacts(
        status=row.status,
        plan_tier=view.plan.tier,
        top_plan_tier=top,
        lowest_paid_tier=lowest_paid,
        partner_managed=row.partner_id is not None,
        auto_renew=row.auto_renew,
        has_pending_change=row.pending_plan_id is not None,
        term_end=row.term_end,
        today=ctx.today,
    )
    return evaluate_actions(facts, caller_for(ctx.principal, row.customer_id, row.partner_id))
