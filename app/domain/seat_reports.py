"""Seat usage reports from the product (docs/domain.md 5): what a report must look like, and what it
does to a subscription's seat figures.

One row per deployment and day holds that day's latest figure (by `reportedAt`) and its
highest. The subscription's `seats_in_use` is the latest report of all, so a report arriving
late for an earlier moment leaves it alone; `max_seats_used` takes every report dated in the current
term, and never falls within a term."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from app.domain.errors import DomainError, ErrorCode
from app.domain.seats import SeatFigures, max_seats_used_after


@dataclass(frozen=True, slots=True)
class SeatReport:
    billable_users: int
    reported_at: datetime  # UTC

    @property
    def day(self) -> date:
        return self.reported_at.date()

    @classmethod
    def checked(cls, billable_users: int, reported_at: datetime, today: date) -> SeatReport:
        """VALIDATION for negative users, a time without a UTC offset, or a day after today."""
        if billable_users < 0:
            raise DomainError(ErrorCode.VALIDATION, "`billableUsers` must be zero or more.")
        if reported_at.tzinfo is None or reported_at.utcoffset() is None:
            raise DomainError(
                ErrorCode.VALIDATION, "`reportedAt` needs a UTC offset, e.g. 2026-06-01T10:00:00Z."
            )
        at = reported_at.astimezone(UTC)
        if at.date() > today:
            raise DomainError(
                ErrorCode.VALIDATION,
                f"`reportedAt` is after today ({today.isoformat()}, UTC); reports cannot come "
                "from the future.",
            )
        return cls(billable_users, at)


@dataclass(frozen=True, slots=True)
class SeatCounts:
    seats_in_use: int
    max_seats_used: int


def counts_after(
    current: SeatCounts, report: SeatReport, *, latest: bool, term_start: date
) -> SeatCounts:
    """The counts after a report: `latest` says no later report is on record."""
    in_term = report.day >= term_start
    return SeatCounts(
        seats_in_use=report.billable_users if latest else current.seats_in_use,
        max_seats_used=(
            max_seats_used_after(current.max_seats_used, report.billable_users)
            if in_term
            else current.max_seats_used
        ),
    )


def entered_alert(before: SeatFigures, after: SeatFigures) -> bool:
    """The report moved the subscription into the seat alert zone (it was not there)."""
    return after.alert and not before.alert


def seat_alert_key(subscription_id: int, term_start: date, seats: int) -> str:
    """One seat alert per subscription, term and threshold (the threshold follows the seat
    count): leaving the zone and coming back with the same seats notifies nobody again."""
    return f"seat-alert:{subscription_id}:{term_start.isoformat()}:{seats}"
