"""price_order for renewals: seats, add-ons, storage, pending downgrades, true-up
(docs/domain.md 6)."""

from datetime import date

import pytest

from app.domain.enums import InvoiceLineKind, ProductKind, ReconciliationMode, SubscriptionStatus
from app.domain.errors import ErrorCode
from app.domain.pricing import Catalog, PackPurchase, QuoteLine, Renew
from app.domain.pricing.model import SubscriptionSnapshot
from tests.domain.pricing_support import (
    TERM_END,
    TERM_START,
    amounts,
    build_catalog,
    price,
    refused_with,
    subscription,
)

IN_WINDOW = date(2026, 12, 20)
NEXT_END = date(2028, 1, 1)
TRUE_UP = ReconciliationMode.ANNUAL_TRUE_UP


def _renew(
    sub: SubscriptionSnapshot, seats: int | None = None, today: date = IN_WINDOW
) -> list[int]:
    return amounts(price(Renew(seats), sub=sub, today=today))


def test_renewal_charges_the_next_term_and_resets_the_maximum() -> None:
    sub = subscription(billable_users=12, max_seats_used=13)
    order = price(Renew(), sub=sub, today=IN_WINDOW)
    assert order.lines == (
        QuoteLine(
            kind=InvoiceLineKind.CHARGE,
            description="Premium: 12 seats, 2027-01-01 to 2028-01-01",
            product_code="premium",
            quantity=12,
            unit_amount=34_800,
            amount=417_600,
            period_start=TERM_END,
            period_end=NEXT_END,
        ),
    )
    assert order.after == subscription(
        seats=12, billable_users=12, max_seats_used=12, term_start=TERM_END, term_end=NEXT_END
    )


@pytest.mark.parametrize(
    ("seats", "billable", "expected"), [(None, 8, 348_000), (None, 12, 417_600), (9, 8, 313_200)]
)
def test_renewal_seats(seats: int | None, billable: int, expected: int) -> None:
    assert _renew(subscription(billable_users=billable), seats) == [expected]


def test_usage_above_the_order_seat_limit_is_renewed_not_refused() -> None:
    # The limit is on what an order buys; seats in use are billed: 1,200,000 x 34,800.
    sub = subscription(seats=900_000, billable_users=1_200_000, max_seats_used=1_200_000)
    assert _renew(sub) == [41_760_000_000]


def test_renewal_seats_below_billable_users() -> None:
    message = refused_with(
        ErrorCode.SEATS_BELOW_BILLABLE_USERS, Renew(7), sub=subscription(), today=IN_WINDOW
    )
    assert message == "Renew at least 8 seats: the deployment has 8 billable users."


def test_renewal_carries_add_ons_and_storage_at_full_price() -> None:
    sub = subscription(add_ons={"duo_pro": 5}, storage_packs=2)
    order = price(Renew(), sub=sub, today=IN_WINDOW)
    assert amounts(order) == [348_000, 114_000, 12_000]
    assert [line.description for line in order.lines[1:]] == [
        "Duo Pro: 5 seats, 2027-01-01 to 2028-01-01",
        "Storage pack: 2 packs, 2027-01-01 to 2028-01-01",
    ]
    assert order.packs == (
        PackPurchase(
            code="storage_10gib",
            kind=ProductKind.RECURRING_PACK,
            quantity=2,
            units=20,
            amount=12_000,
            purchased_on=IN_WINDOW,
            expires_on=NEXT_END,
        ),
    )
    assert (order.after.add_ons, order.after.storage_packs) == ({"duo_pro": 5}, 2)


def test_renewal_add_on_above_the_new_seats() -> None:
    sub = subscription(add_ons={"duo_pro": 10})
    message = refused_with(ErrorCode.ADDON_EXCEEDS_SEATS, Renew(9), sub=sub, today=IN_WINDOW)
    assert message == "Duo Pro would cover 10 seats, more than the subscription's 9."


def test_renewal_applies_the_pending_downgrade() -> None:
    sub = subscription(plan_code="ultimate", pending_plan_code="premium")
    order = price(Renew(), sub=sub, today=IN_WINDOW)
    assert amounts(order) == [348_000]
    assert (order.after.plan_code, order.after.pending_plan_code) == ("premium", None)


def test_annual_true_up_bills_seats_owed_at_the_full_price() -> None:
    sub = subscription(reconciliation_mode=TRUE_UP, billable_users=11, max_seats_used=13)
    order = price(Renew(), sub=sub, today=IN_WINDOW)
    assert amounts(order) == [382_800, 104_400]
    true_up = order.lines[1]
    assert true_up.description == "True-up: 3 seats used above the 10 paid"
    assert (true_up.quantity, true_up.unit_amount) == (3, 34_800)
    assert (true_up.period_start, true_up.period_end) == (TERM_START, TERM_END)
    assert order.total == 487_200
    assert order.after.max_seats_used == 11


def test_true_up_is_at_the_price_of_the_ending_plan() -> None:
    sub = subscription(
        plan_code="ultimate",
        pending_plan_code="premium",
        reconciliation_mode=TRUE_UP,
        billable_users=11,
        max_seats_used=13,
    )
    assert _renew(sub) == [382_800, 356_400]


@pytest.mark.parametrize(
    ("mode", "max_used"), [(ReconciliationMode.QUARTERLY, 13), (TRUE_UP, 10), (TRUE_UP, 9)]
)
def test_no_true_up_line(mode: ReconciliationMode, max_used: int) -> None:
    sub = subscription(reconciliation_mode=mode, max_seats_used=max_used)
    assert _renew(sub) == [348_000]


def test_renewal_in_grace_restores_the_subscription() -> None:
    sub = subscription(status=SubscriptionStatus.GRACE)
    order = price(Renew(), sub=sub, today=date(2027, 1, 10))
    assert order.after.status is SubscriptionStatus.ACTIVE
    assert (order.after.term_start, order.after.term_end) == (TERM_END, NEXT_END)


@pytest.mark.parametrize("today", [date(2026, 12, 16), date(2027, 1, 16)])
def test_renewal_outside_the_window(today: date) -> None:
    message = refused_with(
        ErrorCode.OUTSIDE_RENEWAL_WINDOW, Renew(), sub=subscription(), today=today
    )
    assert message == "This subscription can be renewed only from 2026-12-17 to 2027-01-14."


@pytest.mark.parametrize(
    ("sub", "code"),
    [
        (subscription(status=SubscriptionStatus.TRIAL), ErrorCode.SUBSCRIPTION_NOT_ACTIVE),
        (subscription(status=SubscriptionStatus.EXPIRED), ErrorCode.SUBSCRIPTION_NOT_ACTIVE),
        (subscription(plan_code="free"), ErrorCode.PLAN_NOT_ELIGIBLE),
    ],
)
def test_renewal_refusals(sub: SubscriptionSnapshot, code: ErrorCode) -> None:
    refused_with(code, Renew(), sub=sub, today=IN_WINDOW)


def test_renewal_of_storage_packs_no_longer_sold() -> None:
    catalog = build_catalog()
    items = {code: item for code, item in catalog.items.items() if code != "storage_10gib"}
    message = refused_with(
        ErrorCode.VALIDATION,
        Renew(),
        sub=subscription(storage_packs=1),
        today=IN_WINDOW,
        catalog=Catalog("USD", items),
    )
    assert message == "Storage packs are not sold in USD."
