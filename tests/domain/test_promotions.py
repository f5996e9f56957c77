"""Promo codes on an order: which apply, and the DISCOUNT line they add."""

from dataclasses import replace
from datetime import date

import pytest

from app.domain.enums import InvoiceLineKind
from app.domain.errors import ErrorCode
from app.domain.pricing import AddSeats, ChangePlan, PricedOrder, Promotion, QuoteLine
from tests.domain.pricing_support import amounts, build_catalog, price, refused_with, subscription

EXAMPLE_1_DAY = date(2026, 7, 2)
UPGRADE_DAY = date(2026, 4, 1)
TEN_PERCENT = Promotion(
    code="SPRING10",
    percent_off=10,
    amount_off=None,
    currency=None,
    expires_on=None,
    redemptions_left=None,
    plan_codes=(),
)
FIFTY_DOLLARS = replace(
    TEN_PERCENT, code="FIFTY", percent_off=None, amount_off=5_000, currency="USD"
)


def _add_seats(promotion: Promotion, today: date = EXAMPLE_1_DAY) -> PricedOrder:
    return price(AddSeats(5), sub=subscription(), today=today, promotion=promotion)


def _refused(code: ErrorCode, promotion: Promotion, today: date = EXAMPLE_1_DAY) -> str:
    return refused_with(
        code,
        AddSeats(5),
        sub=subscription(),
        today=today,
        promotion=promotion,
    )


def test_percent_off_adds_a_discount_line() -> None:
    order = _add_seats(TEN_PERCENT)
    assert order.lines[-1] == QuoteLine(
        kind=InvoiceLineKind.DISCOUNT,
        description="Promotion SPRING10: 10% off",
        product_code=None,
        quantity=1,
        unit_amount=-8_724,
        amount=-8_724,
        period_start=None,
        period_end=None,
    )
    assert (order.subtotal, order.discount, order.total) == (87_238, 8_724, 78_514)
    assert order.promotion_code == "SPRING10"


def test_percent_off_applies_to_the_net_the_customer_pays() -> None:
    """Worked example 2 with 10% off: the net is 895 068 - 262 192 = 632 876, and 10% of
    it is 63 287.6 -> 63 288 (half up), not 10% of the gross charge (89 507)."""
    order = price(
        ChangePlan("ultimate"), sub=subscription(), today=UPGRADE_DAY, promotion=TEN_PERCENT
    )
    net = 895_068 - 262_192
    assert amounts(order) == [-262_192, 895_068, -63_288]
    assert (order.subtotal, order.discount, order.total) == (net, 63_288, net - 63_288)
    assert order.total == 569_588


def test_discount_never_takes_the_total_below_zero() -> None:
    everything = replace(TEN_PERCENT, percent_off=100)
    order = price(
        ChangePlan("ultimate"), sub=subscription(), today=UPGRADE_DAY, promotion=everything
    )
    assert (order.discount, order.total) == (632_876, 0)


def test_fixed_amount_off() -> None:
    order = _add_seats(FIFTY_DOLLARS)
    assert order.lines[-1].description == "Promotion FIFTY: $50.00 off"
    assert (order.discount, order.total) == (5_000, 82_238)


def test_fixed_amount_above_the_order() -> None:
    order = _add_seats(replace(FIFTY_DOLLARS, amount_off=100_000))
    assert (order.discount, order.total) == (87_238, 0)


def test_order_with_nothing_to_discount() -> None:
    sub = subscription(plan_code="ultimate")
    order = price(ChangePlan("premium"), sub=sub, today=EXAMPLE_1_DAY, promotion=FIFTY_DOLLARS)
    assert amounts(order) == [0, 0]
    assert (order.discount, order.total) == (0, 0)


def test_no_promotion_no_discount_line() -> None:
    order = price(AddSeats(5), sub=subscription(), today=EXAMPLE_1_DAY)
    assert [line.kind for line in order.lines] == [InvoiceLineKind.CHARGE]
    assert (order.discount, order.promotion_code) == (0, None)


def test_valid_through_its_last_day() -> None:
    assert _add_seats(replace(TEN_PERCENT, expires_on=EXAMPLE_1_DAY)).discount == 8_724


def test_not_started_until_its_first_day() -> None:
    early = replace(TEN_PERCENT, starts_on=date(2026, 7, 3))
    message = _refused(ErrorCode.PROMO_CODE_NOT_STARTED, early)
    assert message == "The promo code `SPRING10` is valid from 2026-07-03."
    assert _add_seats(replace(TEN_PERCENT, starts_on=EXAMPLE_1_DAY)).discount == 8_724


def test_expired() -> None:
    message = _refused(
        ErrorCode.PROMO_CODE_EXPIRED, replace(TEN_PERCENT, expires_on=date(2026, 7, 1))
    )
    assert message == "The promo code `SPRING10` expired on 2026-07-01."


def test_fully_redeemed() -> None:
    assert _add_seats(replace(TEN_PERCENT, redemptions_left=1)).discount == 8_724
    message = _refused(ErrorCode.PROMO_CODE_EXHAUSTED, replace(TEN_PERCENT, redemptions_left=0))
    assert message == "The promo code `SPRING10` has been fully redeemed."


def test_restricted_to_other_plans() -> None:
    ultimate_only = replace(TEN_PERCENT, plan_codes=("ultimate",))
    assert (
        _refused(ErrorCode.PROMO_CODE_NOT_FOR_PLAN, ultimate_only)
        == "The promo code `SPRING10` does not apply to this plan."
    )


def test_plan_restriction_looks_at_the_projected_plan() -> None:
    ultimate_only = replace(TEN_PERCENT, plan_codes=("ultimate",))
    order = price(
        ChangePlan("ultimate"), sub=subscription(), today=UPGRADE_DAY, promotion=ultimate_only
    )
    assert order.discount == 63_288


def test_amount_off_in_another_currency() -> None:
    message = _refused(ErrorCode.PROMO_CODE_WRONG_CURRENCY, replace(FIFTY_DOLLARS, currency="EUR"))
    assert message == "The promo code `FIFTY` cannot be used for an order in USD."


def test_percent_off_works_in_any_currency() -> None:
    order = price(
        AddSeats(5),
        sub=subscription(),
        today=EXAMPLE_1_DAY,
        promotion=TEN_PERCENT,
        catalog=build_catalog("EUR"),
    )
    assert (order.currency, order.discount) == ("EUR", 8_724)


@pytest.mark.parametrize(
    "changes",
    [
        {"percent_off": None},
        {"amount_off": 100, "currency": "USD"},
        {"percent_off": 0},
        {"percent_off": 101},
        {"percent_off": None, "amount_off": 0, "currency": "USD"},
        {"percent_off": None, "amount_off": 100},
    ],
)
def test_malformed_promotions(changes: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        replace(TEN_PERCENT, **changes)  # type: ignore[arg-type]
