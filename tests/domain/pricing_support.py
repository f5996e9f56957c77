"""A catalog with the docs/domain.md section 2 prices, and a Premium subscription to price
against."""

from dataclasses import replace
from datetime import date
from typing import Any

import pytest

from app.domain.eligibility import Caller
from app.domain.enums import (
    BillingPeriod,
    ProductKind,
    ReconciliationMode,
    SubscriptionStatus,
)
from app.domain.errors import DomainError, ErrorCode
from app.domain.pricing import (
    Catalog,
    CatalogItem,
    OrderAction,
    PricedOrder,
    Promotion,
    SubscriptionSnapshot,
    price_order,
)

TERM_START = date(2026, 1, 1)
TERM_END = date(2027, 1, 1)

OWNER = Caller(may_purchase=True, self_service=True)
PARTNER = Caller(may_purchase=True, self_service=False)
VIEWER = Caller(may_purchase=False, self_service=True)

_YEAR, _ONCE = BillingPeriod.YEAR, BillingPeriod.ONE_TIME
_PLAN, _ADD_ON = ProductKind.PLAN, ProductKind.SEAT_ADDON


def build_catalog(currency: str = "USD", *items: CatalogItem) -> Catalog:
    defaults = (
        CatalogItem("free", "Free", _PLAN, 0, 0, _YEAR),
        CatalogItem("premium", "Premium", _PLAN, 1, 34_800, _YEAR),
        CatalogItem("ultimate", "Ultimate", _PLAN, 2, 118_800, _YEAR),
        CatalogItem(
            "duo_pro", "Duo Pro", _ADD_ON, 0, 22_800, _YEAR, eligible_plans=("premium", "ultimate")
        ),
        CatalogItem(
            "duo_enterprise", "Duo Enterprise", _ADD_ON, 0, 46_800, _YEAR,
            eligible_plans=("ultimate",),
        ),
        CatalogItem(
            "compute_minutes_1000", "Compute minutes pack", ProductKind.ONE_TIME_PACK, 0, 1_000,
            _ONCE, pack_units=1_000, validity_months=12,
        ),
        CatalogItem(
            "storage_10gib", "Storage pack", ProductKind.RECURRING_PACK, 0, 6_000, _YEAR,
            pack_units=10,
        ),
    )  # fmt: skip
    return Catalog(currency=currency, items={item.code: item for item in (*defaults, *items)})


CATALOG = build_catalog()


def subscription(**changes: Any) -> SubscriptionSnapshot:
    """Premium, 10 seats, 8 billable users, term 2026-01-01 to 2027-01-01."""
    base = SubscriptionSnapshot(
        status=SubscriptionStatus.ACTIVE,
        plan_code="premium",
        seats=10,
        billable_users=8,
        max_seats_used=8,
        term_start=TERM_START,
        term_end=TERM_END,
        reconciliation_mode=ReconciliationMode.QUARTERLY,
        add_ons={},
        storage_packs=0,
        pending_plan_code=None,
        auto_renew=True,
        partner_managed=False,
    )
    return replace(base, **changes)


def price(
    *actions: OrderAction,
    today: date,
    sub: SubscriptionSnapshot | None = None,
    caller: Caller = OWNER,
    promotion: Promotion | None = None,
    catalog: Catalog = CATALOG,
) -> PricedOrder:
    return price_order(
        catalog=catalog,
        subscription=sub,
        actions=actions,
        caller=caller,
        today=today,
        promotion=promotion,
    )


def refusal(*actions: OrderAction, today: date, **kwargs: Any) -> DomainError:
    with pytest.raises(DomainError) as raised:
        price(*actions, today=today, **kwargs)
    return raised.value


def refused_with(code: ErrorCode, *actions: OrderAction, today: date, **kwargs: Any) -> str:
    error = refusal(*actions, today=today, **kwargs)
    assert error.code is code, error
    return error.message


def amounts(order: PricedOrder) -> list[int]:
    return [line.amount for line in order.lines]
