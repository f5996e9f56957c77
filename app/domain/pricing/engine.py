"""price_order: apply an order's actions to a projected subscription and price each one."""

from collections.abc import Sequence
from datetime import date
from typing import assert_never

from app.domain.eligibility import Caller
from app.domain.enums import InvoiceLineKind
from app.domain.errors import DomainError, ErrorCode
from app.domain.pricing.catalog import Catalog
from app.domain.pricing.changes import add_add_on, add_seats, change_plan
from app.domain.pricing.context import Context, Step
from app.domain.pricing.creation import create_subscription
from app.domain.pricing.model import (
    AddAddOn,
    AddSeats,
    BuyPack,
    ChangePlan,
    CreateSubscription,
    OrderAction,
    PricedOrder,
    QuoteLine,
    Renew,
    SubscriptionSnapshot,
)
from app.domain.pricing.packs import buy_pack
from app.domain.pricing.renewal import renew
from app.domain.pricing.validation import validate_actions
from app.domain.promotions import Promotion, check_promotion, discount_amount


def price_order(
    *,
    catalog: Catalog,
    subscription: SubscriptionSnapshot | None,
    actions: Sequence[OrderAction],
    caller: Caller,
    today: date,
    promotion: Promotion | None = None,
) -> PricedOrder:
    validate_actions(actions)
    ctx = Context(catalog, caller, today)
    steps: list[Step] = []
    state = subscription
    for action in actions:
        steps.append(_apply(ctx, state, action))
        state = steps[-1].after
    after = steps[-1].after
    lines = tuple(line for step in steps for line in step.lines)
    subtotal = sum(line.amount for line in lines)
    discount_line = _discount_line(ctx, promotion, lines, after) if promotion else None
    discount = -discount_line.amount if discount_line else 0
    return PricedOrder(
        currency=catalog.currency,
        lines=(*lines, discount_line) if discount_line else lines,
        subtotal=subtotal,
        discount=discount,
        total=max(0, subtotal - discount),
        after=after,
        packs=tuple(pack for step in steps for pack in step.packs),
        promotion_code=promotion.code if promotion else None,
    )


def _apply(ctx: Context, state: SubscriptionSnapshot | None, action: OrderAction) -> Step:
    if isinstance(action, CreateSubscription):
        return create_subscription(ctx, state, action)
    if state is None:
        raise DomainError(
            ErrorCode.VALIDATION,
            "Choose a subscription, or start the order with createSubscription.",
        )
    match action:
        case AddSeats():
            return add_seats(ctx, state, action)
        case ChangePlan():
            return change_plan(ctx, state, action)
        case AddAddOn():
            return add_add_on(ctx, state, action)
        case BuyPack():
            return buy_pack(ctx, state, action)
        case Renew():
            return renew(ctx, state, action)
        case _:
            assert_never(action)


def _discount_line(
    ctx: Context, promotion: Promotion, lines: Sequence[QuoteLine], after: SubscriptionSnapshot
) -> QuoteLine:
    """The promotion applies to what the customer pays: the charges net of the credits (for an
    upgrade, the new plan's charge minus the unused old plan), never to the gross charge."""
    currency = ctx.catalog.currency
    check_promotion(promotion, currency=currency, plan_code=after.plan_code, today=ctx.today)
    discount = discount_amount(promotion, sum(line.amount for line in lines))
    return QuoteLine(
        kind=InvoiceLineKind.DISCOUNT,
        description=promotion.description(currency),
        product_code=None,
        quantity=1,
        unit_amount=-discount,
        amount=-discount,
        period_start=None,
        period_end=None,
    )
