"""price_order refuses orders that break a rule, with a typed code (docs/domain.md 4)."""

from datetime import date

import pytest

from app.domain.enums import SubscriptionStatus
from app.domain.errors import DomainError, ErrorCode
from app.domain.pricing import (
    MAX_ACTIONS,
    MAX_PACKS,
    MAX_SEATS,
    AddAddOn,
    AddSeats,
    BuyPack,
    Catalog,
    ChangePlan,
    CreateSubscription,
    OrderAction,
    Renew,
)
from tests.domain.pricing_support import (
    PARTNER,
    TERM_END,
    VIEWER,
    build_catalog,
    price,
    refused_with,
    subscription,
)

V = ErrorCode.VALIDATION
S = ErrorCode.SUBSCRIPTION_NOT_ACTIVE
MID_TERM = date(2026, 7, 2)
PREMIUM = subscription()


def _with_seats(seats: int) -> list[OrderAction]:
    return [
        CreateSubscription("premium", seats),
        AddSeats(seats),
        AddAddOn("duo_pro", seats),
        Renew(seats),
    ]


@pytest.mark.parametrize("action", [*_with_seats(0), *_with_seats(-1)])
def test_seats_must_be_positive(action: OrderAction) -> None:
    message = refused_with(V, action, sub=PREMIUM, today=MID_TERM)
    assert message == "Seats must be at least 1."


@pytest.mark.parametrize("action", _with_seats(MAX_SEATS + 1))
def test_seats_beyond_the_product_maximum_are_refused(action: OrderAction) -> None:
    message = refused_with(ErrorCode.SEAT_LIMIT_EXCEEDED, action, sub=PREMIUM, today=MID_TERM)
    assert message == "A subscription has at most 1,000,000 seats; contact sales for more."


@pytest.mark.parametrize("quantity", [0, -1, MAX_PACKS + 1])
def test_pack_quantities_must_be_positive_and_bounded(quantity: int) -> None:
    action = BuyPack("compute_minutes_1000", quantity)
    message = refused_with(V, action, sub=PREMIUM, today=MID_TERM)
    assert message == "Pack quantities must be between 1 and 100,000."


def test_quantity_of_max_packs_is_accepted() -> None:
    order = price(BuyPack("compute_minutes_1000", MAX_PACKS), sub=PREMIUM, today=MID_TERM)
    assert order.total == 100_000 * 1_000


def test_seats_after_adding_are_bounded() -> None:
    message = refused_with(
        ErrorCode.SEAT_LIMIT_EXCEEDED, AddSeats(MAX_SEATS - 9), sub=PREMIUM, today=MID_TERM
    )
    assert message == "A subscription has at most 1,000,000 seats; contact sales for more."


def test_the_largest_order_fits_in_64_bits_with_room_to_spare() -> None:
    # MAX_SEATS Ultimate seats, as many Duo Enterprise seats, and MAX_PACKS storage packs,
    # for a full term: 10^6 x 118,800 + 10^6 x 46,800 + 10^5 x 6,000 cents.
    created = price(
        CreateSubscription("ultimate", MAX_SEATS),
        AddAddOn("duo_enterprise", MAX_SEATS),
        BuyPack("storage_10gib", MAX_PACKS),
        sub=None,
        today=date(2026, 1, 1),
    )
    assert created.total == 118_800_000_000 + 46_800_000_000 + 600_000_000
    assert created.total * 1_000_000 < 2**63  # a million such terms would still fit


@pytest.mark.parametrize("count", [0, MAX_ACTIONS + 1])
def test_action_count(count: int) -> None:
    actions = [BuyPack("compute_minutes_1000", 1)] * count
    message = refused_with(V, *actions, sub=PREMIUM, today=MID_TERM)
    assert message == "An order has between 1 and 10 actions."


def test_max_actions_accepted() -> None:
    actions = [BuyPack("compute_minutes_1000", 1)] * MAX_ACTIONS
    assert price(*actions, sub=PREMIUM, today=MID_TERM).total == 10_000


@pytest.mark.parametrize(
    "actions", [(Renew(), AddSeats(1)), (AddSeats(1), Renew()), (Renew(), Renew())]
)
def test_renew_only_alone(actions: tuple[OrderAction, ...]) -> None:
    message = refused_with(V, *actions, sub=PREMIUM, today=date(2026, 12, 20))
    assert message == "A renewal must be the only action of its order."


@pytest.mark.parametrize(
    "actions",
    [
        (AddSeats(1), CreateSubscription("premium", 1)),
        (CreateSubscription("premium", 1), CreateSubscription("premium", 1)),
    ],
)
def test_create_subscription_first_and_once(actions: tuple[OrderAction, ...]) -> None:
    message = refused_with(V, *actions, today=MID_TERM)
    assert message == "createSubscription must be the first action of an order, and only once."


@pytest.mark.parametrize(
    "action", [AddSeats(1), ChangePlan("ultimate"), AddAddOn("duo_pro", 1), Renew()]
)
def test_changes_need_a_subscription(action: OrderAction) -> None:
    message = refused_with(V, action, today=MID_TERM)
    assert message == "Choose a subscription, or start the order with createSubscription."


def test_partner_managed_refuses_self_service() -> None:
    sub = subscription(partner_managed=True)
    refused_with(ErrorCode.MANAGED_BY_PARTNER, AddSeats(1), sub=sub, today=MID_TERM)
    assert price(AddSeats(1), sub=sub, today=MID_TERM, caller=PARTNER).total > 0


def test_partner_managed_trial_conversion_refuses_self_service() -> None:
    sub = subscription(status=SubscriptionStatus.TRIAL, partner_managed=True)
    refused_with(
        ErrorCode.MANAGED_BY_PARTNER, CreateSubscription("premium", 10), sub=sub, today=MID_TERM
    )
    order = price(CreateSubscription("premium", 10), sub=sub, today=MID_TERM, caller=PARTNER)
    assert order.after.partner_managed


@pytest.mark.parametrize(
    "action",
    [AddSeats(1), ChangePlan("ultimate"), AddAddOn("duo_pro", 1), BuyPack("storage_10gib", 1)],
)
def test_caller_without_purchase_rights(action: OrderAction) -> None:
    refused_with(ErrorCode.FORBIDDEN, action, sub=PREMIUM, today=MID_TERM, caller=VIEWER)


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (SubscriptionStatus.EXPIRED, "This subscription has expired, so you cannot add seats."),
        (
            SubscriptionStatus.GRACE,
            "This subscription is in its grace period; renew it before you add seats.",
        ),
        (SubscriptionStatus.TRIAL, "You cannot add seats during a trial; buy a plan first."),
    ],
)
def test_add_seats_needs_an_active_subscription(status: SubscriptionStatus, message: str) -> None:
    sub = subscription(status=status)
    assert refused_with(S, AddSeats(1), sub=sub, today=MID_TERM) == message


def test_add_seats_on_free() -> None:
    sub = subscription(plan_code="free")
    refused_with(ErrorCode.PLAN_NOT_ELIGIBLE, AddSeats(1), sub=sub, today=MID_TERM)


def test_mid_term_change_after_the_term_ended() -> None:
    message = refused_with(S, AddSeats(1), sub=PREMIUM, today=TERM_END)
    assert message == "The current term ended on 2027-01-01; renew it first."


def test_a_term_not_started_yet_is_charged_in_full() -> None:
    sub = subscription(term_start=date(2026, 8, 1), term_end=date(2027, 8, 1))
    order = price(AddSeats(1), sub=sub, today=MID_TERM)
    assert order.total == 34_800
    assert order.lines[0].period_start == date(2026, 8, 1)


def test_unknown_plan_of_the_subscription() -> None:
    sub = subscription(plan_code="legacy")
    assert refused_with(V, AddSeats(1), sub=sub, today=MID_TERM) == "Unknown plan `legacy`."


def test_catalog_tiers_and_lookups() -> None:
    catalog = build_catalog()
    assert (catalog.top_tier, catalog.lowest_paid_tier) == (2, 1)
    assert catalog.item("duo_pro").code == "duo_pro"
    with pytest.raises(DomainError) as raised:
        catalog.item("gold")
    assert raised.value == DomainError(V, "Unknown product `gold`.")


def test_catalog_without_paid_plans() -> None:
    only_free = Catalog("USD", {"free": build_catalog().items["free"]})
    with pytest.raises(DomainError) as raised:
        _ = only_free.top_tier
    assert raised.value == DomainError(V, "No paid plan is sold in USD.")
