"""seatUsageReport: the product reports a deployment's billable users (docs/domain.md 5).

The day's row (one per deployment and day) keeps the day's latest figure and its greatest one
(which the quarterly reconciliation bills), so the same report twice, or one older than the
day's latest and not above its greatest, writes nothing. The deployment's live subscription
is locked first, as every writer of seat counts does; then its `seats_in_use` follows the
latest report and `max_seats_used` every report dated in the current term. A deployment with
no live subscription still gets its day recorded (history, e.g. while on Free or after an
expiry); charts show a subscription only the days of its own lifetime.

Moving into the seat alert zone notifies the customer's billing contacts once per term and
seat count (app/domain/seat_reports.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.principals import Principal
from app.db.repositories import usage as repo
from app.db.tables import Deployment, Product, SeatUsage, Subscription
from app.domain.enums import NotificationKind, SubscriptionStatus
from app.domain.seat_reports import (
    SeatCounts,
    SeatReport,
    counts_after,
    entered_alert,
    seat_alert_key,
)
from app.domain.seats import SeatFigures, seat_figures
from app.services import audit
from app.services.notifications import notify
from app.services.usage import UNKNOWN_DEPLOYMENT, deployment_ref, require_product


@dataclass(frozen=True, slots=True)
class SeatReportResult:
    deployment: Deployment
    subscription: Subscription | None  # the live one, None when there is none
    day: SeatUsage  # the day's row as it stands after the report
    recorded: bool  # False: the day already held this report or a later one
    figures: SeatFigures | None  # the live subscription's seat figures after the report


async def report_seats(
    session: AsyncSession,
    principal: Principal,
    *,
    deployment: str,
    billable_users: int,
    reported_at: datetime,
    now: datetime,
    request_id: str | None = None,
) -> SeatReportResult:
    require_product(principal)
    report = SeatReport.checked(billable_users, reported_at, now.date())
    found = await repo.deployment_by_external_id(session, deployment_ref(deployment))
    if found is None or found.id is None:
        raise UNKNOWN_DEPLOYMENT
    subscription = await repo.live_subscription(session, found.id, lock=True)
    plan = await repo.plan_of(session, subscription) if subscription is not None else None
    recorded = await repo.record_seat_usage(
        session, found.id, report.day, report.billable_users, report.reported_at
    )
    if recorded:
        before = _state(subscription)
        if subscription is not None and plan is not None:
            await _apply(session, subscription, plan, report, now)
        await audit.record(
            session,
            principal,
            "seat_usage.reported",
            _target(found, subscription),
            before=before,
            after=_state(subscription)
            | {
                "deployment": found.external_id,
                "reported_on": report.day.isoformat(),
                "reported_at": report.reported_at.isoformat(),
                "billable_users": report.billable_users,
            },
            attributed=audit.attribution(principal, None, request_id),
            now=now,
        )
    day = await repo.seat_usage_on(session, found.id, report.day)
    figures = _figures(subscription, plan) if subscription is not None and plan else None
    return SeatReportResult(found, subscription, day, recorded, figures)


async def _apply(
    session: AsyncSession,
    subscription: Subscription,
    plan: Product,
    report: SeatReport,
    now: datetime,
) -> None:
    """Seats in use and the term maximum after the report; a seat alert if it starts one."""
    before = _figures(subscription, plan)
    latest = await repo.latest_seat_report_at(session, subscription.deployment_id)
    counts = counts_after(
        SeatCounts(subscription.seats_in_use, subscription.max_seats_used),
        report,
        latest=latest == report.reported_at,
        term_start=subscription.term_start,
    )
    subscription.seats_in_use = counts.seats_in_use
    subscription.max_seats_used = counts.max_seats_used
    subscription.updated_at = now
    after = _figures(subscription, plan)
    if entered_alert(before, after):
        await _notify_alert(session, subscription, after, now)


def _figures(subscription: Subscription, plan: Product) -> SeatFigures:
    return seat_figures(
        seats=subscription.seats,
        seats_in_use=subscription.seats_in_use,
        max_seats_used=subscription.max_seats_used,
        paid=plan.tier > 0,
        trial=subscription.status is SubscriptionStatus.TRIAL,
        comp_seats=subscription.comp_seats,
    )


async def _notify_alert(
    session: AsyncSession, subscription: Subscription, figures: SeatFigures, now: datetime
) -> None:
    assert subscription.id is not None
    remaining = max(0, figures.seats_remaining)
    await notify(
        session,
        customer_id=subscription.customer_id,
        kind=NotificationKind.SEAT_ALERT,
        title=f"Subscription {subscription.number} is running out of seats",
        body=(
            f"{figures.seats_in_use} of {figures.seats} seats of subscription "
            f"{subscription.number} are in use ({remaining} left). Add seats now to avoid "
            "paying for the overage at the next reconciliation."
        ),
        dedupe_key=seat_alert_key(subscription.id, subscription.term_start, subscription.seats),
        now=now,
        subscription_id=subscription.id,
    )


def _target(deployment: Deployment, subscription: Subscription | None) -> tuple[str, int]:
    if subscription is not None and subscription.id is not None:
        return ("Subscription", subscription.id)
    return ("Deployment", deployment.id or 0)


def _state(subscription: Subscription | None) -> dict[str, Any]:
    if subscription is None:
        return {}
    return {
        "seats_in_use": subscription.seats_in_use,
        "max_seats_used": subscription.max_seats_used,
    }
