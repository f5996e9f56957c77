"""Staff changes to a subscription: comp seats, a trial or grace extension, a moved term
end, and a retried provisioning push. Each runs in the caller's unit of work with the
subscription locked, checks everything before it writes, and adds one audit row. A change
the product must hear of queues one provisioning push (the worker carries it out through
app/services/provisioning.py); none of them moves money, so none calls the billing provider."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from uuid import uuid4

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.principals import Principal
from app.db.repositories import staff as repo
from app.db.repositories.usage import plan_of
from app.db.tables import Reconciliation, Subscription, SubscriptionExtension
from app.domain.eligibility import FREE_PLAN_TIER
from app.domain.enums import ProvisioningStatus, ReconciliationMode, SubscriptionStatus
from app.domain.errors import DomainError, ErrorCode
from app.domain.lifecycle import expires_on
from app.domain.reconciliation import ReconciliationStatus
from app.domain.staff import (
    ExtensionKind,
    check_comp_seats,
    check_extension_days,
    check_term_end,
)
from app.services import audit, outbox
from app.services.lifecycle.common import touch
from app.services.staff.common import locked_subscription, staff_attribution


def _not_active(subscription: Subscription, wanted: str) -> DomainError:
    return DomainError(
        ErrorCode.SUBSCRIPTION_NOT_ACTIVE,
        f"This needs {wanted} subscription; {subscription.number} is "
        f"{subscription.status.value.lower()}.",
    )


async def _provision(
    session: AsyncSession, subscription: Subscription, why: str, now: datetime
) -> None:
    """One push of the deployment's current entitlement, keyed by the subscription's state."""
    assert subscription.id is not None
    await outbox.enqueue(
        session,
        outbox.PROVISION,
        {"subscription_id": subscription.id, "reason": why},
        f"staff:{why}:{subscription.id}:{subscription.lock_version}",
        now=now,
    )


# --- subscriptionCompSeatsSet ------------------------------------------------------------


async def set_comp_seats(
    session: AsyncSession,
    principal: Principal,
    subscription_id: int,
    comp_seats: int,
    reason: str | None,
    *,
    now: datetime,
    request_id: str | None = None,
) -> Subscription:
    """Set the subscription's complimentary seats (0 takes them away). Never billed: the
    billing provider's copy keeps the paid seats; the product is told the paid plus comp
    seats. Asking for the current count changes nothing."""
    attributed = staff_attribution(principal, reason, request_id)
    subscription = await locked_subscription(session, subscription_id)
    if subscription.status is not SubscriptionStatus.ACTIVE:
        raise _not_active(subscription, "an active")
    if (await plan_of(session, subscription)).tier == FREE_PLAN_TIER:
        raise DomainError(ErrorCode.PLAN_NOT_ELIGIBLE, "Free subscriptions have no seats to comp.")
    check_comp_seats(comp_seats, subscription.seats)
    if comp_seats == subscription.comp_seats:
        return subscription
    before = {"comp_seats": subscription.comp_seats, "seats": subscription.seats}
    subscription.comp_seats = comp_seats
    touch(subscription, now)
    await _provision(session, subscription, "comp-seats", now)
    await audit.record(
        session,
        principal,
        "subscription.comp_seats_set",
        ("Subscription", subscription_id),
        before=before,
        after={"comp_seats": comp_seats, "seats": subscription.seats},
        attributed=attributed,
        now=now,
    )
    return subscription


# --- subscriptionExtend ------------------------------------------------------------------


async def extend(
    session: AsyncSession,
    principal: Principal,
    subscription_id: int,
    kind: ExtensionKind,
    days: int,
    reason: str | None,
    *,
    now: datetime,
    request_id: str | None = None,
) -> Subscription:
    """A temporary extension: a trial's end (at most 30 days) or a grace period's end (at
    most 14 days) moves later, once per trial or term (EXTENSION_ALREADY_USED after)."""
    attributed = staff_attribution(principal, reason, request_id)
    check_extension_days(kind, days)
    subscription = await locked_subscription(session, subscription_id)
    today = now.date()
    if kind is ExtensionKind.TRIAL:
        if subscription.status is not SubscriptionStatus.TRIAL:
            raise _not_active(subscription, "a trial")
        previous = subscription.term_end
    else:
        if subscription.status is not SubscriptionStatus.GRACE:
            raise _not_active(subscription, "a grace-period")
        previous = subscription.grace_extended_until or expires_on(subscription.term_end)
    new_end = previous + timedelta(days=days)
    if new_end <= today:
        raise DomainError(
            ErrorCode.VALIDATION,
            f"Extended by {days} days it would still end by today ({new_end.isoformat()}).",
        )
    assert subscription.id is not None
    used = await repo.extension_of_term(
        session, subscription.id, kind.value, subscription.term_start
    )
    if used is not None:
        raise DomainError(
            ErrorCode.EXTENSION_ALREADY_USED,
            f"This {kind.value.lower()} was extended already on "
            f"{used.created_at.date().isoformat()} (by {used.days} days); one extension per "
            "term.",
        )
    session.add(
        SubscriptionExtension(
            subscription_id=subscription.id,
            kind=kind.value,
            term_start=subscription.term_start,
            days=days,
            previous_end=previous,
            new_end=new_end,
            granted_by=principal.audit_actor[:100],
            reason=attributed.reason or "",
            created_at=now,
        )
    )
    if kind is ExtensionKind.TRIAL:
        subscription.term_end = new_end
    else:
        subscription.grace_extended_until = new_end
    touch(subscription, now)
    if kind is ExtensionKind.TRIAL:  # the product holds the trial's end date
        await _provision(session, subscription, "trial-extended", now)
    await audit.record(
        session,
        principal,
        f"subscription.{kind.value.lower()}_extended",
        ("Subscription", subscription.id),
        before={"ends_on": previous.isoformat()},
        after={"ends_on": new_end.isoformat(), "days": days},
        attributed=attributed,
        now=now,
    )
    return subscription


# --- subscriptionTermEndChange -----------------------------------------------------------

# Reconciliation rows a moved term may drop: quarters not looked at yet, and the marker of a
# term too short for a quarter. The reconciliation job schedules the new term's quarters.
_RESCHEDULABLE = {ReconciliationStatus.SCHEDULED, ReconciliationStatus.SKIPPED}


async def change_term_end(
    session: AsyncSession,
    principal: Principal,
    subscription_id: int,
    term_end: date,
    reason: str | None,
    *,
    now: datetime,
    request_id: str | None = None,
) -> Subscription:
    """Move an active subscription's term end (not before today, after the term start, a
    term of at most three years). The renewal follows the new end: the renewal job renews
    at it, its reminders are for it; co-termed storage packs move with it; quarterly
    reconciliation is scheduled again for the new term. Refused once the billing provider
    holds the term (it cannot move a term end yet), once the renewal of the term began, and
    once a quarter of the term was reconciled."""
    attributed = staff_attribution(principal, reason, request_id)
    subscription = await locked_subscription(session, subscription_id)
    if subscription.status is not SubscriptionStatus.ACTIVE:
        raise _not_active(subscription, "an active")
    check_term_end(term_end, term_start=subscription.term_start, today=now.date())
    if term_end == subscription.term_end:
        raise DomainError(ErrorCode.VALIDATION, f"The term already ends on {term_end.isoformat()}.")
    if subscription.provider_ref is not None:
        raise DomainError(
            ErrorCode.TERM_HELD_BY_PROVIDER,
            f"The billing provider holds this term ({subscription.provider_ref}) and cannot "
            "move its end; change it there with a sales amendment.",
        )
    assert subscription.id is not None
    old_end = subscription.term_end
    if await repo.renewal_started(session, subscription.id, old_end):
        raise DomainError(
            ErrorCode.VALIDATION, "The renewal of this term has begun; its end can't move."
        )
    quarters: list[Reconciliation] = []
    if subscription.reconciliation_mode is ReconciliationMode.QUARTERLY:
        quarters = await repo.reconciliations_of_term(
            session, subscription.id, subscription.term_start
        )
        if any(row.status not in _RESCHEDULABLE for row in quarters):
            raise DomainError(
                ErrorCode.VALIDATION,
                "A quarter of this term was reconciled already; its end can't move.",
            )
    packs = await repo.co_termed_storage_packs(session, subscription.id, old_end)
    for pack in packs:
        pack.expires_on = term_end
    await repo.delete_reconciliations(session, quarters)
    subscription.term_end = term_end
    touch(subscription, now)
    await _provision(session, subscription, "term-end", now)
    await audit.record(
        session,
        principal,
        "subscription.term_end_changed",
        ("Subscription", subscription.id),
        before={"term_end": old_end.isoformat()},
        after={
            "term_end": term_end.isoformat(),
            "storage_packs_moved": len(packs),
            "quarters_rescheduled": len(quarters),
        },
        attributed=attributed,
        now=now,
    )
    return subscription


# --- subscriptionProvisioningRetry -------------------------------------------------------


async def retry_provisioning(
    session: AsyncSession,
    principal: Principal,
    subscription_id: int,
    reason: str | None,
    *,
    now: datetime,
    request_id: str | None = None,
) -> Subscription:
    """Queue one new push of the current entitlement for a subscription whose push failed
    for good (FAILED); PENDING until the worker reports. A push still being retried, or
    done, is refused (PROVISIONING_NOT_FAILED), so a second click queues nothing."""
    attributed = staff_attribution(principal, reason, request_id)
    subscription = await locked_subscription(session, subscription_id)
    if subscription.provisioning_status is not ProvisioningStatus.FAILED:
        raise DomainError(
            ErrorCode.PROVISIONING_NOT_FAILED,
            "Only a failed provisioning push can be retried; this one is "
            f"{subscription.provisioning_status.value.lower()}.",
        )
    assert subscription.id is not None
    await outbox.enqueue(
        session,
        outbox.PROVISION,
        {"subscription_id": subscription.id, "reason": "staff.retry"},
        f"staff:provision-retry:{subscription.id}:{uuid4().hex}",
        now=now,
    )
    await audit.record(
        session,
        principal,
        "subscription.provisioning_retried",
        ("Subscription", subscription.id),
        before={"provisioning_status": ProvisioningStatus.FAILED.value},
        after={"provisioning_status": subscription.provisioning_status.value},
        attributed=attributed,
        now=now,
    )
    return subscription
