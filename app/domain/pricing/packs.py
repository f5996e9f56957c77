"""buyPack: compute-minute packs (one-time) and storage packs (co-termed, prorated)."""

from collections.abc import Callable, Mapping
from dataclasses import replace

from app.domain.calendar import add_months
from app.domain.eligibility import check_buy_packs
from app.domain.enums import ProductKind
from app.domain.errors import DomainError, ErrorCode
from app.domain.pricing.catalog import CatalogItem
from app.domain.pricing.context import Context, Step
from app.domain.pricing.lines import count, full_line, prorated_line
from app.domain.pricing.model import TERM_MONTHS, BuyPack, PackPurchase, SubscriptionSnapshot


def buy_pack(ctx: Context, state: SubscriptionSnapshot, action: BuyPack) -> Step:
    ctx.check(check_buy_packs, state)
    pack = ctx.catalog.item(action.pack, *_BUYERS)
    return _BUYERS[pack.kind](ctx, state, pack, action.quantity)


def pack_units(pack: CatalogItem, quantity: int) -> int:
    if pack.pack_units is None:
        raise ValueError(f"catalog item {pack.code} has no pack_units")
    return quantity * pack.pack_units


def _one_time(ctx: Context, state: SubscriptionSnapshot, pack: CatalogItem, quantity: int) -> Step:
    expires = add_months(ctx.today, pack.validity_months or TERM_MONTHS)
    line = full_line(pack, quantity, count(quantity, "pack"), ctx.today, expires)
    purchase = PackPurchase(
        code=pack.code,
        kind=pack.kind,
        quantity=quantity,
        units=pack_units(pack, quantity),
        amount=line.amount,
        purchased_on=ctx.today,
        expires_on=expires,
    )
    return Step(state, (line,), (purchase,))


def _recurring(ctx: Context, state: SubscriptionSnapshot, pack: CatalogItem, quantity: int) -> Step:
    if not ctx.plan(state.plan_code).paid:
        raise DomainError(ErrorCode.PLAN_NOT_ELIGIBLE, f"{pack.name} needs a paid plan.")
    line = prorated_line(pack, quantity, count(quantity, "pack"), state, ctx.today)
    purchase = PackPurchase(
        code=pack.code,
        kind=pack.kind,
        quantity=quantity,
        units=pack_units(pack, quantity),
        amount=line.amount,
        purchased_on=ctx.today,
        expires_on=state.term_end,
    )
    after = replace(state, storage_packs=state.storage_packs + quantity)
    return Step(after, (line,), (purchase,))


_BUYERS: Mapping[ProductKind, Callable[[Context, SubscriptionSnapshot, CatalogItem, int], Step]] = {
    ProductKind.ONE_TIME_PACK: _one_time,
    ProductKind.RECURRING_PACK: _recurring,
}
