"""What a caller may do to a subscription, and the typed reason when not (docs/domain.md 4)."""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from types import MappingProxyType

from app.domain.enums import SubscriptionStatus
from app.domain.errors import DomainError, ErrorCode

RENEWAL_WINDOW_DAYS = 15
GRACE_PERIOD_DAYS = 14
FREE_PLAN_TIER = 0


class Action(StrEnum):
    ADD_SEATS = "ADD_SEATS"
    UPGRADE = "UPGRADE"
    DOWNGRADE = "DOWNGRADE"
    RENEW = "RENEW"
    CANCEL = "CANCEL"
    ADD_ADD_ONS = "ADD_ADD_ONS"
    BUY_PACKS = "BUY_PACKS"


@dataclass(frozen=True, slots=True)
class SubscriptionFacts:
    status: SubscriptionStatus
    plan_tier: int
    top_plan_tier: int
    lowest_paid_tier: int
    partner_managed: bool
    auto_renew: bool
    has_pending_change: bool
    term_end: date
    today: date


@dataclass(frozen=True, slots=True)
class Caller:
    may_purchase: bool
    self_service: bool


@dataclass(frozen=True)
class ActionVerdicts:
    refusals: Mapping[Action, DomainError]

    def allowed(self, action: Action) -> bool:
        return action not in self.refusals

    def refusal(self, action: Action) -> DomainError | None:
        return self.refusals.get(action)

    @property
    def reason(self) -> ErrorCode | None:
        """The code of the first refused action, in Action order."""
        return next((self.refusals[a].code for a in Action if a in self.refusals), None)


Checker = Callable[[SubscriptionFacts, Caller], DomainError | None]

_PHRASES: Mapping[Action, str] = {
    Action.ADD_SEATS: "add seats",
    Action.UPGRADE: "upgrade the plan",
    Action.DOWNGRADE: "downgrade the plan",
    Action.RENEW: "renew",
    Action.CANCEL: "cancel",
    Action.ADD_ADD_ONS: "add add-ons",
    Action.BUY_PACKS: "buy packs",
}
# A trial converts through a createSubscription order on its deployment, not changePlan.
_TRIAL_MESSAGES: Mapping[Action, str] = {Action.UPGRADE: "Buy a plan to convert the trial."}
_GRACE_ALLOWED = frozenset({Action.RENEW})
_FREE_PLAN_ALLOWED = frozenset({Action.UPGRADE, Action.BUY_PACKS})


def renewal_window(term_end: date) -> tuple[date, date]:
    """First and last day (inclusive) on which a manual renewal is accepted: the grace
    period is term_end .. term_end + 13; the subscription expires on term_end + 14."""
    return (
        term_end - timedelta(days=RENEWAL_WINDOW_DAYS),
        term_end + timedelta(days=GRACE_PERIOD_DAYS - 1),
    )


def _caller_refusal(facts: SubscriptionFacts, caller: Caller) -> DomainError | None:
    if not caller.may_purchase:
        return DomainError(
            ErrorCode.FORBIDDEN, "You are not allowed to make purchases for this subscription."
        )
    if facts.partner_managed and caller.self_service:
        return DomainError(
            ErrorCode.MANAGED_BY_PARTNER,
            "This subscription is managed by your partner; contact them to change it.",
        )
    return None


def _status_refusal(facts: SubscriptionFacts, action: Action) -> DomainError | None:
    phrase = _PHRASES[action]
    status = facts.status
    if status is SubscriptionStatus.EXPIRED:
        message = f"This subscription has expired, so you cannot {phrase}."
    elif status is SubscriptionStatus.TRIAL:
        message = _TRIAL_MESSAGES.get(
            action, f"You cannot {phrase} during a trial; buy a plan first."
        )
    elif status is SubscriptionStatus.GRACE and action not in _GRACE_ALLOWED:
        message = f"This subscription is in its grace period; renew it before you {phrase}."
    else:
        return None
    return DomainError(ErrorCode.SUBSCRIPTION_NOT_ACTIVE, message)


def _plan_refusal(facts: SubscriptionFacts, action: Action) -> DomainError | None:
    if facts.plan_tier != FREE_PLAN_TIER or action in _FREE_PLAN_ALLOWED:
        return None
    return DomainError(
        ErrorCode.PLAN_NOT_ELIGIBLE,
        f"You cannot {_PHRASES[action]} on the Free plan; upgrade to a paid plan first.",
    )


def _common_refusal(facts: SubscriptionFacts, caller: Caller, action: Action) -> DomainError | None:
    return (
        _caller_refusal(facts, caller)
        or _status_refusal(facts, action)
        or _plan_refusal(facts, action)
    )


def check_add_seats(facts: SubscriptionFacts, caller: Caller) -> DomainError | None:
    return _common_refusal(facts, caller, Action.ADD_SEATS)


def check_add_add_ons(facts: SubscriptionFacts, caller: Caller) -> DomainError | None:
    return _common_refusal(facts, caller, Action.ADD_ADD_ONS)


def check_buy_packs(facts: SubscriptionFacts, caller: Caller) -> DomainError | None:
    return _common_refusal(facts, caller, Action.BUY_PACKS)


def check_upgrade(facts: SubscriptionFacts, caller: Caller) -> DomainError | None:
    refusal = _common_refusal(facts, caller, Action.UPGRADE)
    if refusal:
        return refusal
    if facts.plan_tier >= facts.top_plan_tier:
        return DomainError(
            ErrorCode.PLAN_NOT_ELIGIBLE, "This subscription is already on the highest plan."
        )
    return None


def check_downgrade(facts: SubscriptionFacts, caller: Caller) -> DomainError | None:
    refusal = _common_refusal(facts, caller, Action.DOWNGRADE)
    if refusal:
        return refusal
    if facts.plan_tier <= facts.lowest_paid_tier:
        return DomainError(
            ErrorCode.PLAN_NOT_ELIGIBLE, "This subscription is already on the lowest paid plan."
        )
    if facts.has_pending_change:
        return DomainError(
            ErrorCode.PLAN_NOT_ELIGIBLE,
            "A plan change is already scheduled for this subscription; "
            "cancel it before downgrading.",
        )
    return None


def check_cancel(facts: SubscriptionFacts, caller: Caller) -> DomainError | None:
    refusal = _common_refusal(facts, caller, Action.CANCEL)
    if refusal:
        return refusal
    if not facts.auto_renew:
        return DomainError(ErrorCode.VALIDATION, "Auto-renew is already off for this subscription.")
    return None


def check_renew(facts: SubscriptionFacts, caller: Caller) -> DomainError | None:
    refusal = _common_refusal(facts, caller, Action.RENEW)
    if refusal:
        return refusal
    first, last = renewal_window(facts.term_end)
    if not first <= facts.today <= last:
        return DomainError(
            ErrorCode.OUTSIDE_RENEWAL_WINDOW,
            f"This subscription can be renewed only from {first.isoformat()} "
            f"to {last.isoformat()}.",
        )
    return None


CHECKERS: Mapping[Action, Checker] = MappingProxyType(
    {
        Action.ADD_SEATS: check_add_seats,
        Action.UPGRADE: check_upgrade,
        Action.DOWNGRADE: check_downgrade,
        Action.RENEW: check_renew,
        Action.CANCEL: check_cancel,
        Action.ADD_ADD_ONS: check_add_add_ons,
        Action.BUY_PACKS: check_buy_packs,
    }
)


def evaluate_actions(facts: SubscriptionFacts, caller: Caller) -> ActionVerdicts:
    refusals = {
        action: refusal
        for action in Action
        if (refusal := CHECKERS[action](facts, caller)) is not None
    }
    return ActionVerdicts(refusals=MappingProxyType(refusals))
