"""createSubscription: a new subscription, or a trial (or expired one) converted to paid."""

from datetime import date

from app.domain.calendar import add_months
from app.domain.eligibility import check_add_seats
from app.domain.enums import ReconciliationMode, SubscriptionStatus
from app.domain.errors import DomainError, ErrorCode
from app.domain.pricing.context import Context, Step
from app.domain.pricing.lines import count, full_line
from app.domain.pricing.model import TERM_MONTHS, CreateSubscription, SubscriptionSnapshot

# A trial converts by buying a plan; an expired subscription leaves the deployment on Free.
_REPLACEABLE = frozenset({SubscriptionStatus.TRIAL, SubscriptionStatus.EXPIRED})


def create_subscription(
    ctx: Context, state: SubscriptionSnapshot | None, action: CreateSubscription
) -> Step:
    if state is not None and state.status not in _REPLACEABLE:
        raise DomainError(ErrorCode.VALIDATION, "This deployment already has a subscription.")
    plan = ctx.plan(action.plan)
    if not plan.paid:
        raise DomainError(ErrorCode.PLAN_NOT_ELIGIBLE, f"{plan.name} cannot be bought.")
    billable = state.billable_users if state else 0
    after = _new_subscription(action, billable, state, ctx.today)
    # Buying a subscription's seats needs the same rights as adding seats to it.
    ctx.check(check_add_seats, after)
    if action.seats < billable:
        raise DomainError(
            ErrorCode.SEATS_BELOW_BILLABLE_USERS,
            f"Buy at least {billable:,} seats: the deployment has {billable:,} billable users.",
        )
    line = full_line(
        plan, action.seats, count(action.seats, "seat"), after.term_start, after.term_end
    )
    return Step(after, (line,))


def _new_subscription(
    action: CreateSubscription, billable: int, state: SubscriptionSnapshot | None, today: date
) -> SubscriptionSnapshot:
    return SubscriptionSnapshot(
        status=SubscriptionStatus.ACTIVE,
        plan_code=action.plan,
        seats=action.seats,
        billable_users=billable,
        max_seats_used=billable,
        term_start=today,
        term_end=add_months(today, TERM_MONTHS),
        reconciliation_mode=ReconciliationMode.QUARTERLY,
        add_ons={},
        storage_packs=0,
        pending_plan_code=None,
        auto_renew=True,
        partner_managed=state.partner_managed if state else False,
    )
