"""orderQuote: price a list of actions against the current state, change nothing, and hand
back every line with a signed token that orderPlace will honour exactly."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.authenticate import read_scope
from app.auth.principals import Principal, PrincipalKind
from app.clock import Clock
from app.config import Settings
from app.domain.buyers import checked
from app.domain.eligibility import Caller
from app.domain.enums import InvoiceLineKind, TaxTreatment
from app.domain.pricing import PricedOrder, QuoteLine, price_order
from app.providers.tax import TaxProvider
from app.services import quote_tokens, tax
from app.services.orders import first_purchase
from app.services.orders.errors import NotAllowed
from app.services.orders.in_flight import ensure_not_charging
from app.services.orders.requests import OrderRequest
from app.services.orders.state import (
    load_catalog,
    load_promotion,
    load_target,
    order_currency,
    paying_account,
    snapshot,
)

QUOTERS = frozenset({PrincipalKind.CUSTOMER_USER, PrincipalKind.PARTNER, PrincipalKind.ADMIN})


@dataclass(frozen=True, slots=True)
class Quote:
    priced: PricedOrder
    token: str
    expires_at: datetime


def quoting_caller(principal: Principal) -> Caller:
    """Anyone who can see the target may quote (viewers too); placing checks more."""
    if principal.kind not in QUOTERS:
        raise NotAllowed
    return Caller(may_purchase=True, self_service=principal.kind is PrincipalKind.CUSTOMER_USER)


async def price_request(
    session: AsyncSession,
    principal: Principal,
    request: OrderRequest,
    caller: Caller,
    on: date,
    taxes: TaxProvider,
) -> PricedOrder:
    """The order priced as of `on`, each line taxed for the account it will invoice (a new
    customer's: the billing address and VAT id it gives)."""
    if request.new_customer is not None:
        priced = await _price_first_purchase(session, principal, request, caller, on)
        return await tax.tax_order(taxes, tax.new_buyer(request.new_customer), priced)
    target = await load_target(session, read_scope(principal), request)
    await ensure_not_charging(session, target.subscription)
    account = await paying_account(session, target)
    catalog = await load_catalog(session, order_currency(target, account))
    _, promotion = await load_promotion(session, request.promo_code)
    priced = price_order(
        catalog=catalog,
        subscription=await snapshot(session, target),
        actions=request.actions,
        caller=caller,
        today=on,
        promotion=promotion,
    )
    return await tax.tax_order(taxes, tax.buyer(account), priced)


async def _price_first_purchase(
    session: AsyncSession, principal: Principal, request: OrderRequest, caller: Caller, on: date
) -> PricedOrder:
    """A new customer's first order: nothing to change yet, priced in its chosen currency."""
    assert request.new_customer is not None
    await first_purchase.check_quotable(session, principal, request)
    catalog = await load_catalog(session, request.new_customer.currency)
    _, promotion = await load_promotion(session, request.promo_code)
    return price_order(
        catalog=catalog,
        subscription=None,
        actions=request.actions,
        caller=caller,
        today=on,
        promotion=promotion,
    )


async def quote_order(
    session: AsyncSession,
    principal: Principal,
    request: OrderRequest,
    *,
    clock: Clock,
    settings: Settings,
    taxes: TaxProvider,
) -> Quote:
    caller = quoting_caller(principal)
    if request.new_customer is not None:
        first_purchase.require_first_purchaser(principal)
        request = replace(request, new_customer=checked(request.new_customer))
    now = clock.now()
    priced = await price_request(session, principal, request, caller, now.date(), taxes)
    expires_at = now + timedelta(seconds=settings.quote_ttl_seconds)
    payload = {
        **request.to_payload(),
        **priced_payload(priced),
        "priced_on": now.date().isoformat(),
        "expires_at": expires_at.isoformat(),
    }
    return Quote(priced, quote_tokens.sign(payload, settings.quote_secret), expires_at)


def priced_payload(priced: PricedOrder) -> dict[str, Any]:
    """The money of a priced order as plain JSON: what the token binds and placing compares."""
    return {
        "currency": priced.currency,
        "lines": [_line(line) for line in priced.lines],
        "subtotal": priced.subtotal,
        "discount": priced.discount,
        "tax": priced.tax,
        "total": priced.total,
    }


def _line(line: QuoteLine) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, date) else v for k, v in asdict(line).items()}


def quote_line(raw: dict[str, Any]) -> QuoteLine:
    """A line of `priced_payload` (JSON) as the pricing engine's line again."""
    days = {k: _day(raw[k]) for k in ("period_start", "period_end")}
    treatment = TaxTreatment(raw.get("tax_treatment", TaxTreatment.NOT_TAXED))
    return QuoteLine(
        **{**raw, **days, "kind": InvoiceLineKind(raw["kind"]), "tax_treatment": treatment}
    )


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None
