from dataclasses import replace
from datetime import date, timedelta

import pytest

from app.domain.eligibility import (
    GRACE_PERIOD_DAYS,
    RENEWAL_WINDOW_DAYS,
    Action,
    ActionVerdicts,
    Caller,
    SubscriptionFacts,
    check_add_add_ons,
    check_add_seats,
    check_buy_packs,
    check_cancel,
    check_downgrade,
    check_renew,
    check_upgrade,
    evaluate_actions,
    renewal_window,
)
from app.domain.enums import SubscriptionStatus
from app.domain.errors import DomainError, ErrorCode

FREE, PREMIUM, ULTIMATE = 0, 1, 2
TERM_END = date(2027, 1, 1)
IN_WINDOW = TERM_END - timedelta(days=5)
MID_TERM = date(2026, 6, 1)

OWNER = Caller(may_purchase=True, self_service=True)
PARTNER = Caller(may_purchase=True, self_service=False)
VIEWER = Caller(may_purchase=False, self_service=True)

ACTIVE = SubscriptionFacts(
    status=SubscriptionStatus.ACTIVE,
    plan_tier=ULTIMATE,
    top_plan_tier=ULTIMATE,
    lowest_paid_tier=PREMIUM,
    partner_managed=False,
    auto_renew=True,
    has_pending_change=False,
    term_end=TERM_END,
    today=IN_WINDOW,
)
ALL = frozenset(Action)
S = ErrorCode.SUBSCRIPTION_NOT_ACTIVE
P = ErrorCode.PLAN_NOT_ELIGIBLE


def codes(facts: SubscriptionFacts, caller: Caller = OWNER) -> dict[Action, ErrorCode]:
    verdicts = evaluate_actions(facts, caller)
    return {action: error.code for action, error in verdicts.refusals.items()}


def test_active_ultimate_in_renewal_window() -> None:
    # Ultimate is the top plan, so only upgrading is refused.
    assert codes(ACTIVE) == {Action.UPGRADE: P}


def test_active_premium_mid_term_may_do_everything_but_renew_and_downgrade() -> None:
    facts = replace(ACTIVE, plan_tier=PREMIUM, today=MID_TERM)
    assert codes(facts) == {Action.DOWNGRADE: P, Action.RENEW: ErrorCode.OUTSIDE_RENEWAL_WINDOW}


def test_caller_without_purchase_rights_is_forbidden_first() -> None:
    facts = replace(ACTIVE, partner_managed=True, status=SubscriptionStatus.EXPIRED)
    assert codes(facts, VIEWER) == dict.fromkeys(Action, ErrorCode.FORBIDDEN)


def test_partner_managed_refuses_self_service_before_status() -> None:
    facts = replace(ACTIVE, partner_managed=True, status=SubscriptionStatus.EXPIRED)
    assert codes(facts) == dict.fromkeys(Action, ErrorCode.MANAGED_BY_PARTNER)
    message = evaluate_actions(facts, OWNER).refusals[Action.ADD_SEATS].message
    assert message == "This subscription is managed by your partner; contact them to change it."


def test_partner_managed_allows_the_partner() -> None:
    facts = replace(ACTIVE, partner_managed=True)
    assert codes(facts, PARTNER) == {Action.UPGRADE: P}


def test_expired_refuses_everything() -> None:
    facts = replace(ACTIVE, status=SubscriptionStatus.EXPIRED, plan_tier=FREE)
    assert codes(facts) == dict.fromkeys(Action, S)


def test_trial_refuses_everything_even_upgrade() -> None:
    facts = replace(ACTIVE, status=SubscriptionStatus.TRIAL)
    assert codes(facts) == dict.fromkeys(ALL, S)


def test_trial_upgrade_points_to_buying_a_plan() -> None:
    for tier in (PREMIUM, ULTIMATE):
        facts = replace(ACTIVE, status=SubscriptionStatus.TRIAL, plan_tier=tier)
        refusal = check_upgrade(facts, OWNER)
        assert refusal == DomainError(S, "Buy a plan to convert the trial.")


def test_grace_allows_only_renew() -> None:
    facts = replace(
        ACTIVE, status=SubscriptionStatus.GRACE, plan_tier=PREMIUM, today=TERM_END + timedelta(1)
    )
    assert codes(facts) == dict.fromkeys(ALL - {Action.RENEW}, S)


def test_grace_renewal_still_needs_the_window() -> None:
    facts = replace(
        ACTIVE, status=SubscriptionStatus.GRACE, today=TERM_END + timedelta(GRACE_PERIOD_DAYS + 1)
    )
    assert codes(facts)[Action.RENEW] is ErrorCode.OUTSIDE_RENEWAL_WINDOW


def test_free_plan_may_upgrade_and_buy_packs_only() -> None:
    facts = replace(ACTIVE, plan_tier=FREE)
    assert codes(facts) == dict.fromkeys(ALL - {Action.UPGRADE, Action.BUY_PACKS}, P)


@pytest.mark.parametrize(
    ("tier", "expected"), [(FREE, None), (PREMIUM, None), (ULTIMATE, P), (ULTIMATE + 1, P)]
)
def test_upgrade_needs_a_higher_plan(tier: int, expected: ErrorCode | None) -> None:
    assert _code(check_upgrade(replace(ACTIVE, plan_tier=tier), OWNER)) == expected


@pytest.mark.parametrize(
    ("tier", "pending", "expected"),
    [(ULTIMATE, False, None), (ULTIMATE, True, P), (PREMIUM, False, P), (FREE, False, P)],
)
def test_downgrade(tier: int, pending: bool, expected: ErrorCode | None) -> None:
    facts = replace(ACTIVE, plan_tier=tier, has_pending_change=pending)
    assert _code(check_downgrade(facts, OWNER)) == expected


@pytest.mark.parametrize(("auto_renew", "expected"), [(True, None), (False, ErrorCode.VALIDATION)])
def test_cancel_needs_auto_renew_on(auto_renew: bool, expected: ErrorCode | None) -> None:
    assert _code(check_cancel(replace(ACTIVE, auto_renew=auto_renew), OWNER)) == expected


@pytest.mark.parametrize(
    ("offset_days", "expected"),
    [
        (-16, ErrorCode.OUTSIDE_RENEWAL_WINDOW),
        (-15, None),
        (0, None),
        (13, None),
        (14, ErrorCode.OUTSIDE_RENEWAL_WINDOW),  # the day it expires
    ],
)
def test_renewal_window_boundaries(offset_days: int, expected: ErrorCode | None) -> None:
    facts = replace(ACTIVE, today=TERM_END + timedelta(days=offset_days))
    assert _code(check_renew(facts, OWNER)) == expected


def test_renewal_window_constants_and_message() -> None:
    assert (RENEWAL_WINDOW_DAYS, GRACE_PERIOD_DAYS) == (15, 14)
    assert renewal_window(TERM_END) == (date(2026, 12, 17), date(2027, 1, 14))
    refusal = check_renew(replace(ACTIVE, today=MID_TERM), OWNER)
    assert refusal is not None
    assert refusal.message == "This subscription can be renewed only from 2026-12-17 to 2027-01-14."


def test_checkers_agree_with_evaluate_actions() -> None:
    facts = replace(ACTIVE, status=SubscriptionStatus.TRIAL)
    verdicts = evaluate_actions(facts, OWNER)
    for action, checker in [
        (Action.ADD_SEATS, check_add_seats),
        (Action.ADD_ADD_ONS, check_add_add_ons),
        (Action.BUY_PACKS, check_buy_packs),
        (Action.UPGRADE, check_upgrade),
    ]:
        assert checker(facts, OWNER) == verdicts.refusal(action)


def test_trial_refusal_message() -> None:
    refusal = check_add_seats(replace(ACTIVE, status=SubscriptionStatus.TRIAL), OWNER)
    assert refusal == DomainError(S, "You cannot add seats during a trial; buy a plan first.")


def test_verdicts_reason_is_the_first_refusal_in_action_order() -> None:
    verdicts = ActionVerdicts(
        refusals={
            Action.BUY_PACKS: DomainError(ErrorCode.VALIDATION, "b"),
            Action.UPGRADE: DomainError(P, "u"),
        }
    )
    assert verdicts.reason is P
    assert verdicts.allowed(Action.ADD_SEATS)
    assert not verdicts.allowed(Action.UPGRADE)
    assert verdicts.refusal(Action.ADD_SEATS) is None
    assert ActionVerdicts(refusals={}).reason is None


def test_reason_for_a_mid_term_premium() -> None:
    facts = replace(ACTIVE, plan_tier=PREMIUM, today=MID_TERM)
    assert evaluate_actions(facts, OWNER).reason is P  # DOWNGRADE comes before RENEW


def _code(error: DomainError | None) -> ErrorCode | None:
    return None if error is None else error.code
