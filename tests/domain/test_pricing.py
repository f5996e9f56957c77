"""price_order for new subscriptions and mid-term changes (docs/domain.md 3, 4 and 9)."""

from datetime import date

import pytest

from app.domain.enums import BillingPeriod, InvoiceLineKind, ProductKind, SubscriptionStatus
from app.domain.errors import ErrorCode
from app.domain.pricing import (
    AddAddOn,
    AddSeats,
    BuyPack,
    CatalogItem,
    ChangePlan,
    CreateSubscription,
    PackPurchase,
    QuoteLine,
)
from tests.domain.pricing_support import (
    TERM_END,
    VIEWER,
    amounts,
    build_catalog,
    price,
    refused_with,
    subscription,
)

CHARGE, CREDIT = InvoiceLineKind.CHARGE, InvoiceLineKind.CREDIT
V, P = ErrorCode.VALIDATION, ErrorCode.PLAN_NOT_ELIGIBLE
S = ErrorCode.SUBSCRIPTION_NOT_ACTIVE
PREMIUM = subscription()
ULTIMATE = subscription(plan_code="ultimate")
TRIAL = subscription(
    status=SubscriptionStatus.TRIAL, plan_code="ultimate", seats=0, billable_users=12,
    max_seats_used=0, term_start=date(2026, 3, 1), term_end=date(2026, 3, 31),
)  # fmt: skip


# Worked examples


def test_example_1_add_seats_prorated() -> None:
    order = price(AddSeats(5), sub=PREMIUM, today=date(2026, 7, 2))
    assert order.lines == (
        QuoteLine(
            kind=CHARGE,
            description="Premium: 5 additional seats, 2026-07-02 to 2027-01-01 (183 of 365 days)",
            product_code="premium",
            quantity=5,
            unit_amount=34_800,
            amount=87_238,
            period_start=date(2026, 7, 2),
            period_end=TERM_END,
        ),
    )
    assert (order.currency, order.subtotal, order.discount, order.total) == (
        "USD",
        87_238,
        0,
        87_238,
    )
    assert order.after == subscription(seats=15)
    assert (order.packs, order.promotion_code) == ((), None)


def test_example_2_upgrade_credits_the_old_plan_and_charges_the_new() -> None:
    sub = subscription(max_seats_used=11, billable_users=11)
    order = price(ChangePlan("ultimate"), sub=sub, today=date(2026, 4, 1))
    credit, charge = order.lines
    assert (credit.kind, credit.product_code, credit.amount) == (CREDIT, "premium", -262_192)
    assert (
        credit.description == "Premium: unused 10 seats, 2026-04-01 to 2027-01-01 (275 of 365 days)"
    )
    assert (charge.kind, charge.product_code, charge.amount) == (CHARGE, "ultimate", 895_068)
    assert charge.description == "Ultimate: 10 seats, 2026-04-01 to 2027-01-01 (275 of 365 days)"
    assert (order.subtotal, order.total) == (632_876, 632_876)
    # Same term end, and maxSeatsUsed is not reset.
    assert order.after == subscription(plan_code="ultimate", max_seats_used=11, billable_users=11)


def test_example_3_storage_packs_prorated_and_co_termed() -> None:
    order = price(BuyPack("storage_10gib", 2), sub=PREMIUM, today=date(2026, 10, 1))
    assert amounts(order) == [3_025]
    assert order.lines[0].description == (
        "Storage pack: 2 packs, 2026-10-01 to 2027-01-01 (92 of 365 days)"
    )
    assert order.packs == (
        PackPurchase(
            code="storage_10gib",
            kind=ProductKind.RECURRING_PACK,
            quantity=2,
            units=20,
            amount=3_025,
            purchased_on=date(2026, 10, 1),
            expires_on=TERM_END,
        ),
    )
    assert order.after.storage_packs == 2


def test_example_6_leap_year_term() -> None:
    sub = subscription(term_start=date(2027, 6, 1), term_end=date(2028, 6, 1))
    order = price(AddSeats(3), sub=sub, today=date(2028, 1, 1))
    assert amounts(order) == [43_357]
    assert order.lines[0].description.endswith("(152 of 366 days)")


# Packs


def test_compute_pack_full_price_valid_twelve_months() -> None:
    order = price(BuyPack("compute_minutes_1000", 2), sub=PREMIUM, today=date(2026, 7, 2))
    assert amounts(order) == [2_000]
    assert order.lines[0].description == "Compute minutes pack: 2 packs, 2026-07-02 to 2027-07-02"
    assert order.packs == (
        PackPurchase(
            code="compute_minutes_1000",
            kind=ProductKind.ONE_TIME_PACK,
            quantity=2,
            units=2_000,
            amount=2_000,
            purchased_on=date(2026, 7, 2),
            expires_on=date(2027, 7, 2),
        ),
    )
    assert order.after == PREMIUM


def test_compute_pack_allowed_on_free() -> None:
    order = price(
        BuyPack("compute_minutes_1000", 1),
        sub=subscription(plan_code="free"),
        today=date(2026, 7, 2),
    )
    assert order.total == 1_000


def test_storage_pack_needs_a_paid_plan() -> None:
    message = refused_with(
        P, BuyPack("storage_10gib", 1), sub=subscription(plan_code="free"), today=date(2026, 7, 2)
    )
    assert message == "Storage pack needs a paid plan."


@pytest.mark.parametrize(
    ("code", "message"), [("premium", "`premium` is not a pack."), ("gold", "Unknown pack `gold`.")]
)
def test_buy_pack_needs_a_pack(code: str, message: str) -> None:
    assert refused_with(V, BuyPack(code, 1), sub=PREMIUM, today=date(2026, 7, 2)) == message


# Add-ons


def test_add_on_prorated() -> None:
    order = price(AddAddOn("duo_pro", 5), sub=PREMIUM, today=date(2026, 7, 2))
    assert amounts(order) == [57_156]
    assert order.lines[0].description == (
        "Duo Pro: 5 seats, 2026-07-02 to 2027-01-01 (183 of 365 days)"
    )
    assert order.after.add_ons == {"duo_pro": 5}


def test_add_on_adds_to_the_held_quantity() -> None:
    order = price(
        AddAddOn("duo_pro", 2), sub=subscription(add_ons={"duo_pro": 8}), today=date(2026, 7, 2)
    )
    assert order.after.add_ons == {"duo_pro": 10}


def test_add_on_over_seats() -> None:
    message = refused_with(
        ErrorCode.ADDON_EXCEEDS_SEATS,
        AddAddOn("duo_pro", 3),
        sub=subscription(add_ons={"duo_pro": 8}),
        today=date(2026, 7, 2),
    )
    assert message == "Duo Pro would cover 11 seats, more than the subscription's 10."


def test_add_on_needs_an_eligible_plan() -> None:
    message = refused_with(P, AddAddOn("duo_enterprise", 1), sub=PREMIUM, today=date(2026, 7, 2))
    assert message == "Duo Enterprise is not available on Premium."


def test_add_on_needs_the_scheduled_plan_to_be_eligible_too() -> None:
    sub = subscription(plan_code="ultimate", pending_plan_code="premium")
    refused_with(P, AddAddOn("duo_enterprise", 1), sub=sub, today=date(2026, 7, 2))


def test_add_on_must_be_an_add_on() -> None:
    message = refused_with(V, AddAddOn("premium", 1), sub=PREMIUM, today=date(2026, 7, 2))
    assert message == "`premium` is not an add-on."


# Plan changes


def test_downgrade_is_scheduled_for_term_end_at_no_charge() -> None:
    order = price(ChangePlan("premium"), sub=ULTIMATE, today=date(2026, 7, 2))
    [line] = order.lines
    assert (line.kind, line.amount, line.product_code) == (CHARGE, 0, "premium")
    assert line.description == "Downgrade to Premium scheduled for 2027-01-01"
    assert order.total == 0
    assert order.after == subscription(plan_code="ultimate", pending_plan_code="premium")


def test_downgrade_refused_when_an_add_on_needs_the_current_plan() -> None:
    sub = subscription(plan_code="ultimate", add_ons={"duo_enterprise": 2})
    message = refused_with(P, ChangePlan("premium"), sub=sub, today=date(2026, 7, 2))
    assert message == "Duo Enterprise is not available on Premium."


def test_downgrade_to_free_is_not_a_plan_change() -> None:
    refused_with(P, ChangePlan("free"), sub=ULTIMATE, today=date(2026, 7, 2))


def test_second_downgrade_while_one_is_scheduled() -> None:
    sub = subscription(plan_code="ultimate", pending_plan_code="premium")
    refused_with(P, ChangePlan("premium"), sub=sub, today=date(2026, 7, 2))


def test_upgrade_from_free_has_no_credit_line() -> None:
    order = price(ChangePlan("premium"), sub=subscription(plan_code="free"), today=date(2026, 7, 2))
    assert [line.kind for line in order.lines] == [CHARGE]
    assert amounts(order) == [174_477]


def test_upgrade_replaces_a_scheduled_downgrade() -> None:
    platinum = CatalogItem("platinum", "Platinum", ProductKind.PLAN, 3, 200_000, BillingPeriod.YEAR)
    sub = subscription(plan_code="ultimate", pending_plan_code="premium")
    order = price(
        ChangePlan("platinum"),
        sub=sub,
        today=date(2026, 7, 2),
        catalog=build_catalog("USD", platinum),
    )
    assert (order.after.plan_code, order.after.pending_plan_code) == ("platinum", None)


@pytest.mark.parametrize(
    ("plan", "message"),
    [
        ("premium", "This subscription is already on Premium."),
        ("gold", "Unknown plan `gold`."),
        ("duo_pro", "`duo_pro` is not a plan."),
    ],
)
def test_change_plan_needs_another_plan(plan: str, message: str) -> None:
    assert refused_with(V, ChangePlan(plan), sub=PREMIUM, today=date(2026, 7, 2)) == message


def test_trial_cannot_change_plan() -> None:
    sub = subscription(status=SubscriptionStatus.TRIAL)
    message = refused_with(S, ChangePlan("ultimate"), sub=sub, today=date(2026, 7, 2))
    assert message == "Buy a plan to convert the trial."


# Several actions


def test_upgrade_then_add_seats_prices_the_seats_at_the_new_plan() -> None:
    order = price(ChangePlan("ultimate"), AddSeats(5), sub=PREMIUM, today=date(2026, 4, 1))
    assert amounts(order) == [-262_192, 895_068, 447_534]
    assert order.lines[2].product_code == "ultimate"
    assert (order.subtotal, order.total) == (1_080_410, 1_080_410)
    assert (order.after.plan_code, order.after.seats) == ("ultimate", 15)


def test_add_on_checked_against_the_projected_seats() -> None:
    order = price(AddSeats(5), AddAddOn("duo_pro", 15), sub=PREMIUM, today=date(2026, 7, 2))
    assert amounts(order) == [87_238, 171_468]
    assert order.total == 258_706


# New subscriptions and trial conversion


def test_create_subscription_charges_a_full_term() -> None:
    order = price(CreateSubscription("premium", 10), today=date(2026, 1, 31))
    [line] = order.lines
    assert (line.amount, line.quantity, line.unit_amount) == (348_000, 10, 34_800)
    assert line.description == "Premium: 10 seats, 2026-01-31 to 2027-01-31"
    assert order.after == subscription(
        seats=10,
        billable_users=0,
        max_seats_used=0,
        term_start=date(2026, 1, 31),
        term_end=date(2027, 1, 31),
    )


def test_trial_converts_with_create_subscription() -> None:
    order = price(CreateSubscription("ultimate", 15), sub=TRIAL, today=date(2026, 3, 10))
    assert amounts(order) == [15 * 118_800]
    after = order.after
    assert (after.status, after.plan_code, after.seats) == (
        SubscriptionStatus.ACTIVE,
        "ultimate",
        15,
    )
    assert (after.billable_users, after.max_seats_used, after.auto_renew) == (12, 12, True)
    assert (after.term_start, after.term_end) == (date(2026, 3, 10), date(2027, 3, 10))


def test_trial_conversion_needs_seats_for_billable_users() -> None:
    message = refused_with(
        ErrorCode.SEATS_BELOW_BILLABLE_USERS,
        CreateSubscription("ultimate", 11),
        sub=TRIAL,
        today=date(2026, 3, 10),
    )
    assert message == "Buy at least 12 seats: the deployment has 12 billable users."


def test_create_then_add_an_add_on_for_the_full_term() -> None:
    order = price(
        CreateSubscription("ultimate", 5), AddAddOn("duo_enterprise", 5), today=date(2026, 7, 2)
    )
    assert amounts(order) == [594_000, 234_000]


def test_create_subscription_on_a_live_subscription() -> None:
    message = refused_with(
        V, CreateSubscription("ultimate", 10), sub=PREMIUM, today=date(2026, 7, 2)
    )
    assert message == "This deployment already has a subscription."


def test_create_subscription_after_expiry() -> None:
    sub = subscription(status=SubscriptionStatus.EXPIRED)
    assert price(CreateSubscription("premium", 8), sub=sub, today=date(2027, 3, 1)).total == 278_400


def test_create_subscription_needs_a_paid_plan() -> None:
    message = refused_with(P, CreateSubscription("free", 1), today=date(2026, 7, 2))
    assert message == "Free cannot be bought."


def test_create_subscription_needs_purchase_rights() -> None:
    refused_with(
        ErrorCode.FORBIDDEN, CreateSubscription("premium", 1), today=date(2026, 7, 2), caller=VIEWER
    )
