"""Mid-term changes: add seats, change plan, add add-on seats."""

from dataclasses import replace

from app.domain.eligibility import (
    check_add_add_ons,
    check_add_seats,
    check_downgrade,
    check_upgrade,
)
from app.domain.enums import InvoiceLineKind, ProductKind
from app.domain.errors import DomainError, ErrorCode
from app.domain.pricing.add_ons import (
    require_plan_allows,
    require_plan_allows_all,
    require_within_seats,
)
from app.domain.pricing.catalog import CatalogItem
from app.domain.pricing.context import Context, Step
from app.domain.pricing.lines import count, prorated_line
from app.domain.pricing.model import (
    AddAddOn,
    AddSeats,
    ChangePlan,
    QuoteLine,
    SubscriptionSnapshot,
)
from app.domain.pricing.validation import check_seat_limit


def add_seats(ctx: Context, state: SubscriptionSnapshot, action: AddSeats) -> Step:
    ctx.check(check_add_seats, state)
    seats = state.seats + action.seats
    check_seat_limit(seats)
    plan = ctx.plan(state.plan_code)
    line = prorated_line(
        plan, action.seats, count(action.seats, "additional seat"), state, ctx.today
    )
    return Step(replace(state, seats=seats), (line,))


def change_plan(ctx: Context, state: SubscriptionSnapshot, action: ChangePlan) -> Step:
    current = ctx.plan(state.plan_code)
    target = ctx.plan(action.plan)
    if target.tier == current.tier:
        same = target.code == current.code
        message = "is already on" if same else "has a plan of the same tier as"
        raise DomainError(ErrorCode.VALIDATION, f"This subscription {message} {target.name}.")
    if target.tier > current.tier:
        return _upgrade(ctx, state, current, target)
    return _downgrade(ctx, state, target)


def _upgrade(
    ctx: Context, state: SubscriptionSnapshot, current: CatalogItem, target: CatalogItem
) -> Step:
    ctx.check(check_upgrade, state)
    _require_add_ons_allowed(ctx, state, target)
    seats = count(state.seats, "seat")
    lines: tuple[QuoteLine, ...] = (prorated_line(target, state.seats, seats, state, ctx.today),)
    if current.unit_amount:
        credit = prorated_line(
            current, state.seats, f"unused {seats}", state, ctx.today, InvoiceLineKind.CREDIT
        )
        lines = (credit, *lines)
    # The upgrade replaces any scheduled downgrade: the latest choice of plan wins.
    return Step(replace(state, plan_code=target.code, pending_plan_code=None), lines)


def _downgrade(ctx: Context, state: SubscriptionSnapshot, target: CatalogItem) -> Step:
    ctx.check(check_downgrade, state)
    if not target.paid:
        raise DomainError(
            ErrorCode.PLAN_NOT_ELIGIBLE,
            f"You cannot change to {target.name}; turn auto-renew off instead.",
        )
    _require_add_ons_allowed(ctx, state, target)
    on = state.term_end.isoformat()
    line = QuoteLine(
        kind=InvoiceLineKind.CHARGE,
        description=f"Downgrade to {target.name} scheduled for {on}",
        product_code=target.code,
        quantity=state.seats,
        unit_amount=0,
        amount=0,
        period_start=None,
        period_end=None,
    )
    return Step(replace(state, pending_plan_code=target.code), (line,))


def _require_add_ons_allowed(ctx: Context, state: SubscriptionSnapshot, plan: CatalogItem) -> None:
    add_ons = (ctx.catalog.item(code, ProductKind.SEAT_ADDON) for code in state.add_ons)
    require_plan_allows_all(add_ons, plan)


def add_add_on(ctx: Context, state: SubscriptionSnapshot, action: AddAddOn) -> Step:
    ctx.check(check_add_add_ons, state)
    add_on = ctx.catalog.item(action.add_on, ProductKind.SEAT_ADDON)
    # A scheduled downgrade must keep the add-on too, or the renewal could not carry it.
    for code in dict.fromkeys((state.plan_code, state.pending_plan_code or state.plan_code)):
        require_plan_allows(add_on, ctx.plan(code))
    quantity = state.add_ons.get(add_on.code, 0) + action.seats
    require_within_seats(add_on, quantity, state.seats)
    line = prorated_line(add_on, action.seats, count(action.seats, "seat"), state, ctx.today)
    after = replace(state, add_ons={**state.add_ons, add_on.code: quantity})
    return Step(after, (line,))
