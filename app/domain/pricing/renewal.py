"""renew: the next term at full price, with add-ons, storage packs and any annual true-up."""

from dataclasses import replace
from datetime import date

from app.domain.calendar import add_months
from app.domain.eligibility import check_renew
from app.domain.enums import InvoiceLineKind, ProductKind, ReconciliationMode, SubscriptionStatus
from app.domain.errors import DomainError, ErrorCode
from app.domain.pricing.add_ons import require_plan_allows, require_within_seats
from app.domain.pricing.catalog import CatalogItem
from app.domain.pricing.context import Context, Step
from app.domain.pricing.lines import count, full_line
from app.domain.pricing.model import (
    TERM_MONTHS,
    PackPurchase,
    QuoteLine,
    Renew,
    SubscriptionSnapshot,
)
from app.domain.pricing.packs import pack_units


def renew(ctx: Context, state: SubscriptionSnapshot, action: Renew) -> Step:
    ctx.check(check_renew, state)
    seats = _renewal_seats(state, action.seats)
    plan = ctx.plan(state.pending_plan_code or state.plan_code)
    start, end = state.term_end, add_months(state.term_end, TERM_MONTHS)
    lines = [full_line(plan, seats, count(seats, "seat"), start, end)]
    for code, quantity in state.add_ons.items():
        lines.append(_add_on_line(ctx, code, quantity, plan, seats, (start, end)))
    storage = _storage(ctx, state.storage_packs, (start, end))
    lines.extend(line for line, _ in storage)
    lines.extend(_true_up(ctx, state))
    after = replace(
        state,
        status=SubscriptionStatus.ACTIVE,
        plan_code=plan.code,
        seats=seats,
        max_seats_used=state.billable_users,
        term_start=start,
        term_end=end,
        pending_plan_code=None,
    )
    return Step(after, tuple(lines), tuple(pack for _, pack in storage))


def _renewal_seats(state: SubscriptionSnapshot, chosen: int | None) -> int:
    if chosen is None:
        return max(state.seats, state.billable_users)
    if chosen < state.billable_users:
        raise DomainError(
            ErrorCode.SEATS_BELOW_BILLABLE_USERS,
            f"Renew at least {state.billable_users:,} seats: "
            f"the deployment has {state.billable_users:,} billable users.",
        )
    return chosen


def _add_on_line(
    ctx: Context,
    code: str,
    quantity: int,
    plan: CatalogItem,
    seats: int,
    term: tuple[date, date],
) -> QuoteLine:
    add_on = ctx.catalog.item(code, ProductKind.SEAT_ADDON)
    require_plan_allows(add_on, plan)
    require_within_seats(add_on, quantity, seats)
    return full_line(add_on, quantity, count(quantity, "seat"), *term)


def _storage(
    ctx: Context, packs: int, term: tuple[date, date]
) -> tuple[tuple[QuoteLine, PackPurchase], ...]:
    """The storage packs carried into the new term, co-termed with it."""
    if packs <= 0:
        return ()
    pack = _storage_pack(ctx)
    line = full_line(pack, packs, count(packs, "pack"), *term)
    purchase = PackPurchase(
        code=pack.code,
        kind=pack.kind,
        quantity=packs,
        units=pack_units(pack, packs),
        amount=line.amount,
        purchased_on=ctx.today,
        expires_on=term[1],
    )
    return ((line, purchase),)


def _storage_pack(ctx: Context) -> CatalogItem:
    # The snapshot counts storage packs without a code: the catalog sells one kind.
    found = sorted(ctx.catalog.of_kind(ProductKind.RECURRING_PACK), key=lambda item: item.code)
    if not found:
        raise DomainError(
            ErrorCode.VALIDATION, f"Storage packs are not sold in {ctx.catalog.currency}."
        )
    return found[0]


def _true_up(ctx: Context, state: SubscriptionSnapshot) -> tuple[QuoteLine, ...]:
    owed = max(0, state.max_seats_used - state.seats - state.comp_seats)
    if state.reconciliation_mode is not ReconciliationMode.ANNUAL_TRUE_UP or owed == 0:
        return ()
    plan = ctx.plan(state.plan_code)
    line = QuoteLine(
        kind=InvoiceLineKind.CHARGE,
        description=f"True-up: {count(owed, 'seat')} used above the {state.seats:,} paid",
        product_code=plan.code,
        quantity=owed,
        unit_amount=plan.unit_amount,
        amount=owed * plan.unit_amount,
        period_start=state.term_start,
        period_end=state.term_end,
    )
    return (line,)
