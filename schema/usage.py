"""Usage reports from the product (its service credential only): seatUsageReport and
computeUsageReport. Both are idempotent: a day's report, an event id, counts once."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

import strawberry

from app.domain.errors import DomainError
from resolvers import usage as resolve
from resolvers.usage import ComputeReportView, ReportedSeatsView, SeatReportView
from schema import described
from schema.errors import NotFoundError, QuoteError, ValidationError, result_union, user_error
from schema.usage_figures import ComputeMinutes, SeatUsageDay


@strawberry.type(
    description="The reporting deployment's live subscription, as far as the product needs it."
)
class ReportedSeats:
    subscription_number: str
    seats: int
    seats_in_use: int
    max_seats_used: int = strawberry.field(description="The term's highest report.")
    seats_owed: int = strawberry.field(description="Seats used beyond those paid for.")
    seat_alert: bool = strawberry.field(description="Few seats remain (docs/domain.md 5).")

    @classmethod
    def of(cls, view: ReportedSeatsView) -> ReportedSeats:
        figures = view.figures
        return cls(
            subscription_number=view.subscription_number,
            seats=figures.seats,
            seats_in_use=figures.seats_in_use,
            max_seats_used=figures.max_seats_used,
            seats_owed=figures.seats_owed,
            seat_alert=figures.alert,
        )


@strawberry.type
class SeatUsageReportPayload:
    recorded: bool = strawberry.field(
        description="False when the day already held this report or a later one: nothing changed."
    )
    day: SeatUsageDay = strawberry.field(description="The day's figure after the report.")
    seats: ReportedSeats | None = strawberry.field(
        description="The seat figures of the deployment's live subscription; null when it "
        "has none (the day is still recorded)."
    )


@strawberry.type(description="One compute usage report and where its minutes were taken from.")
class ComputeUsageEvent:
    event_id: str
    minutes: int
    period_start: date = strawberry.field(description="The month the minutes count in.")
    from_quota: int
    from_purchased: int
    uncovered: int = strawberry.field(description="Minutes neither the quota nor a pack covered.")
    reported_at: datetime


@strawberry.type
class ComputeUsageReportPayload:
    duplicate: bool = strawberry.field(
        description="True when this event id was reported before: it counted once, then."
    )
    event: ComputeUsageEvent
    compute_minutes: ComputeMinutes = strawberry.field(
        description="The deployment's compute minutes this month, after the report."
    )
    subscription_number: str | None = strawberry.field(
        description="The deployment's live subscription; null when it has none (the Free "
        "plan's quota and the packs of its earlier subscriptions apply)."
    )


DeploymentArg = Annotated[
    str, strawberry.argument(description="The SaaS namespace id or the self-managed instance uuid.")
]

SeatUsageReportResult = result_union(
    "SeatUsageReportResult", SeatUsageReportPayload, ValidationError, NotFoundError
)
ComputeUsageReportResult = result_union(
    "ComputeUsageReportResult",
    ComputeUsageReportPayload,
    ValidationError,
    NotFoundError,
    QuoteError,
)


def _seat_payload(view: SeatReportView) -> SeatUsageReportPayload:
    return SeatUsageReportPayload(
        recorded=view.recorded,
        day=SeatUsageDay(
            reported_on=view.day.reported_on,
            billable_users=view.day.billable_users,
            max_billable_users=view.day.max_billable_users,
        ),
        seats=ReportedSeats.of(view.seats) if view.seats else None,
    )


def _compute_payload(view: ComputeReportView) -> ComputeUsageReportPayload:
    event = view.event
    return ComputeUsageReportPayload(
        duplicate=view.duplicate,
        event=ComputeUsageEvent(
            event_id=event.event_id,
            minutes=event.minutes,
            period_start=event.month,
            from_quota=event.from_quota,
            from_purchased=event.from_purchased,
            uncovered=event.uncovered,
            reported_at=event.reported_at,
        ),
        compute_minutes=ComputeMinutes.of(view.figures),
        subscription_number=view.subscription_number,
    )


@strawberry.type
class UsageMutations:
    @described.mutation(
        description="The product reports a deployment's billable users (the product's service "
        "credential only). One figure per deployment and day, the day's latest by "
        "`reportedAt`: the same report twice changes nothing. Updates the live "
        "subscription's seats in use and term maximum."
    )
    async def seat_usage_report(
        self,
        info: strawberry.Info,
        deployment: DeploymentArg,
        billable_users: int,
        reported_at: Annotated[
            datetime,
            strawberry.argument(
                description="When the figure was taken, with a UTC offset; not after today."
            ),
        ],
    ) -> SeatUsageReportResult:  # type: ignore[valid-type]
        found = await resolve.report_seats(info.context, deployment, billable_users, reported_at)
        return user_error(found) if isinstance(found, DomainError) else _seat_payload(found)

    @described.mutation(
        description="The product reports compute minutes used on a deployment (the product's "
        "service credential only). The event id makes it count once; the same id with other "
        "minutes is IDEMPOTENCY_KEY_REUSED."
    )
    async def compute_usage_report(
        self,
        info: strawberry.Info,
        deployment: DeploymentArg,
        event_id: Annotated[str, strawberry.argument(description="Unique per report (1-128).")],
        minutes: int,
    ) -> ComputeUsageReportResult:  # type: ignore[valid-type]
        found = await resolve.report_compute(info.context, deployment, event_id, minutes)
        return user_error(found) if isinstance(found, DomainError) else _compute_payload(found)
