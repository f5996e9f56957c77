"""Self-service changes that are not orders (no money moves): starting a trial, turning
auto-renew off (cancel) or on again, dropping a scheduled plan change.

Each use case runs inside the caller's unit of work and never commits. The row it changes
is read FOR UPDATE within the caller's scope, so an object the caller cannot see is
NOT_FOUND and two concurrent changes to one row take turns. A caller who may not act at
all raises NotAllowed (a top-level FORBIDDEN); a rule that says no raises DomainError.
The caller's reason (required of admins) is checked before anything is read and lands on
the audit row with the request id."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.authenticate import read_scope
from app.auth.policy import caller_for
from app.auth.principals import Principal, PrincipalKind
from app.db.repositories import changes
from app.db.tables import Subscription
from app.domain.eligibility import FREE_PLAN_TIER
from app.domain.enums import (
    Channel,
    CustomerKind,
    MemberRole,
    ReconciliationMode,
    SubscriptionStatus,
)
from app.domain.errors import DomainError, ErrorCode
from app.services import audit, licenses, outbox, subscription_sync
from app.services.billing import keys
from app.services.numbering import subscription_number
from app.services.orders.errors import NotAllowed
from app.services.orders.requests import DeploymentRef

TRIAL_DAYS = 30
MAX_CANCEL_REASON_LENGTH = 500
MAX_EXTERNAL_ID_LENGTH = 64
MAX_DEPLOYMENT_NAME_LENGTH = 200

TRIAL_STARTERS = frozenset({PrincipalKind.CUSTOMER_USER, PrincipalKind.ADMIN})
CHANGERS = frozenset({PrincipalKind.CUSTOMER_USER, PrincipalKind.PARTNER, PrincipalKind.ADMIN})

NO_SUBSCRIPTION = DomainError(ErrorCode.NOT_FOUND, "No such subscription.")
NO_CUSTOMER = DomainError(ErrorCode.NOT_FOUND, "No such customer.")
NO_DEPLOYMENT = DomainError(ErrorCode.NOT_FOUND, "No such deployment.")
MANAGED_BY_PARTNER = DomainError(
    ErrorCode.MANAGED_BY_PARTNER,
    "This subscription is managed by your partner; contact them to change it.",
)


# --- trialStart ------------------------------------------------------------------------


async def start_trial(
    session: AsyncSession,
    principal: Principal,
    customer_id: int,
    deployment: DeploymentRef,
    *,
    now: datetime,
    reason: str | None = None,
    request_id: str | None = None,
) -> Subscription:
    """A 30-day trial of the top plan on a deployment that never had one (docs/domain.md 2).

    A live Free subscription on the deployment ends (EXPIRED) and the trial takes its place;
    a live paid one refuses the trial. The deployment row is locked first, so of two
    concurrent requests for one deployment the second sees the first's trial."""
    attributed = audit.attribution(principal, reason, request_id)
    if principal.kind not in TRIAL_STARTERS:
        raise NotAllowed
    customer = await changes.customer_in_scope(session, read_scope(principal), customer_id)
    if customer is None or customer.id is None:
        raise NO_CUSTOMER
    if principal.kind is PrincipalKind.CUSTOMER_USER:
        if principal.role_in(customer.id) != MemberRole.OWNER:
            raise NotAllowed
        if customer.kind is CustomerKind.PARTNER_MANAGED:
            raise DomainError(
                ErrorCode.MANAGED_BY_PARTNER,
                "This customer is managed by a partner; ask them to start a trial.",
            )
    external_id, name = _checked_deployment(deployment)
    today = now.date()
    target = await changes.deployment_for_update(
        session,
        customer_id=customer.id,
        kind=deployment.kind,
        external_id=external_id,
        name=name,
        at=now,
    )
    if target.customer_id != customer.id or target.id is None:
        raise NO_DEPLOYMENT
    if target.trial_started_on is not None:
        raise DomainError(
            ErrorCode.TRIAL_ALREADY_USED,
            f"Deployment `{external_id}` already had a trial "
            f"(started {target.trial_started_on.isoformat()}); there is one per deployment.",
        )
    replaced = await _end_free_subscription(session, target.id, now)
    plan = await changes.top_plan(session)
    if plan is None or plan.id is None:
        raise DomainError(ErrorCode.VALIDATION, "No plan is available for a trial.")
    account = await changes.customer_billing_account(session, customer.id)
    if account is None or account.id is None:
        raise DomainError(
            ErrorCode.VALIDATION, "The customer needs a billing account before starting a trial."
        )
    seats_in_use = replaced.seats_in_use if replaced is not None else 0
    trial = Subscription(
        number=await subscription_number(session),
        customer_id=customer.id,
        deployment_id=target.id,
        plan_id=plan.id,
        billing_account_id=account.id,
        partner_id=None,
        channel=Channel.WEB_DIRECT,
        reconciliation_mode=ReconciliationMode.QUARTERLY,
        status=SubscriptionStatus.TRIAL,
        currency=account.currency,
        seats=0,
        seats_in_use=seats_in_use,
        max_seats_used=seats_in_use,
        term_start=today,
        term_end=today + timedelta(days=TRIAL_DAYS),
        auto_renew=False,
        created_at=now,
        updated_at=now,
    )
    session.add(trial)
    target.trial_started_on = today
    await session.flush()
    assert trial.id is not None
    await licenses.ensure_license(session, trial)  # a self-managed instance needs a code
    await outbox.enqueue(
        session,
        outbox.PROVISION,
        {"subscription_id": trial.id, "deployment_id": target.id, "reason": "trial.started"},
        f"trial:{target.id}:provision",
        now=now,
    )
    await audit.record(
        session,
        principal,
        "trial.started",
        ("Subscription", trial.id),
        before=None if replaced is None else {"replaced_subscription_id": replaced.id},
        after={
            "deployment": external_id,
            "plan_id": plan.id,
            "status": trial.status.value,
            "term_start": trial.term_start.isoformat(),
            "term_end": trial.term_end.isoformat(),
        },
        attributed=attributed,
        now=now,
    )
    return trial


def _checked_deployment(ref: DeploymentRef) -> tuple[str, str]:
    external_id = ref.external_id.strip()
    if not 1 <= len(external_id) <= MAX_EXTERNAL_ID_LENGTH:
        raise DomainError(
            ErrorCode.VALIDATION,
            f"The deployment id must be 1-{MAX_EXTERNAL_ID_LENGTH} characters.",
        )
    name = (ref.name or "").strip() or external_id
    if len(name) > MAX_DEPLOYMENT_NAME_LENGTH:
        raise DomainError(
            ErrorCode.VALIDATION,
            f"The deployment name must be at most {MAX_DEPLOYMENT_NAME_LENGTH} characters.",
        )
    return external_id, name


async def _end_free_subscription(
    session: AsyncSession, deployment_id: int, now: datetime
) -> Subscription | None:
    """End the deployment's live Free subscription (the trial replaces it); refuse a paid one."""
    live = await changes.live_subscriptions_on(session, deployment_id)
    if not live:
        return None
    plans = await changes.products_by_ids(session, [row.plan_id for row in live])
    paid = [row for row in live if plans[row.plan_id].tier != FREE_PLAN_TIER]
    if paid:
        raise DomainError(
            ErrorCode.VALIDATION,
            f"This deployment already has a paid subscription ({paid[0].number}); "
            "a trial is for deployments without one.",
        )
    for row in live:
        row.status = SubscriptionStatus.EXPIRED
        row.auto_renew = False
        row.lock_version += 1
        row.updated_at = now
    # The live-subscription-per-deployment index must see the Free one ended before the
    # trial is inserted.
    await session.flush()
    return live[0]


# --- subscriptionSetAutoRenew, subscriptionCancelPendingChange ---------------------------


async def set_auto_renew(
    session: AsyncSession,
    principal: Principal,
    subscription_id: int,
    auto_renew: bool,
    reason: str | None,
    *,
    now: datetime,
    request_id: str | None = None,
) -> Subscription:
    """Cancel (auto-renew off, with a reason; service runs to term end) or reactivate.
    Asking for the value the subscription already has changes nothing."""
    attributed = audit.attribution(principal, reason, request_id)
    subscription = await _changeable(session, principal, subscription_id)
    if subscription.status is not SubscriptionStatus.ACTIVE:
        raise DomainError(
            ErrorCode.SUBSCRIPTION_NOT_ACTIVE,
            f"Auto-renew can only be changed on an active subscription; this one is "
            f"{subscription.status.value.lower()}.",
        )
    plan = (await changes.products_by_ids(session, [subscription.plan_id]))[subscription.plan_id]
    if plan.tier == FREE_PLAN_TIER:
        raise DomainError(
            ErrorCode.PLAN_NOT_ELIGIBLE, "The Free plan does not renew; there is nothing to cancel."
        )
    cancel_reason = None if auto_renew else _cancel_reason(attributed.reason)
    if subscription.auto_renew == auto_renew:
        return subscription
    before = _renewal(subscription)
    subscription.auto_renew = auto_renew
    subscription.cancel_reason = cancel_reason
    _touch(subscription, now)
    assert subscription.id is not None
    await subscription_sync.queue(
        session,
        {"subscription_id": subscription.id, "auto_renew": auto_renew},
        keys.subscription_change_sync(subscription.id, subscription.lock_version),
        now=now,
    )
    await audit.record(
        session,
        principal,
        "subscription.auto_renew_on" if auto_renew else "subscription.auto_renew_off",
        ("Subscription", subscription.id),
        before=before,
        after=_renewal(subscription),
        attributed=attributed,
        now=now,
    )
    return subscription


async def cancel_pending_change(
    session: AsyncSession,
    principal: Principal,
    subscription_id: int,
    *,
    now: datetime,
    reason: str | None = None,
    request_id: str | None = None,
) -> Subscription:
    """Drop a plan change scheduled for the term end (a downgrade)."""
    attributed = audit.attribution(principal, reason, request_id)
    subscription = await _changeable(session, principal, subscription_id)
    if subscription.status is SubscriptionStatus.EXPIRED:
        raise DomainError(ErrorCode.SUBSCRIPTION_NOT_ACTIVE, "This subscription has expired.")
    if subscription.pending_plan_id is None:
        raise DomainError(ErrorCode.VALIDATION, "This subscription has no pending plan change.")
    before = {"pending_plan_id": subscription.pending_plan_id}
    subscription.pending_plan_id = None
    _touch(subscription, now)
    assert subscription.id is not None
    await subscription_sync.queue(
        session,
        {"subscription_id": subscription.id, "pending_plan_id": None},
        keys.subscription_change_sync(subscription.id, subscription.lock_version),
        now=now,
    )
    await audit.record(
        session,
        principal,
        "subscription.pending_change_cancelled",
        ("Subscription", subscription.id),
        before=before,
        after={"pending_plan_id": None},
        attributed=attributed,
        now=now,
    )
    return subscription


async def _changeable(
    session: AsyncSession, principal: Principal, subscription_id: int
) -> Subscription:
    """The subscription, locked, if the principal may change it: those who may purchase for it
    (owner, billing admin, the partner that sold it, admins); customer users not on a
    partner-sold one."""
    if principal.kind not in CHANGERS:
        raise NotAllowed
    found = await changes.subscription_for_update(session, read_scope(principal), subscription_id)
    if found is None:
        raise NO_SUBSCRIPTION
    caller = caller_for(principal, found.customer_id, found.partner_id)
    if not caller.may_purchase:
        raise NotAllowed
    if caller.self_service and found.partner_id is not None:
        raise MANAGED_BY_PARTNER
    return found


def _cancel_reason(reason: str | None) -> str:
    """Cancelling needs a reason from anyone; it is kept on the subscription (500 characters)."""
    if not reason:
        raise DomainError(
            ErrorCode.VALIDATION, "Give a reason for turning auto-renew off (cancelling)."
        )
    if len(reason) > MAX_CANCEL_REASON_LENGTH:
        raise DomainError(
            ErrorCode.VALIDATION,
            f"A cancellation reason must be at most {MAX_CANCEL_REASON_LENGTH} characters.",
        )
    return reason


def _renewal(subscription: Subscription) -> dict[str, Any]:
    return {"auto_renew": subscription.auto_renew, "cancel_reason": subscription.cancel_reason}


def _touch(subscription: Subscription, now: datetime) -> None:
    subscription.lock_version += 1
    subscription.updated_at = now
