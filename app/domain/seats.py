"""Seat counting: owed seats, the per-term maximum and low-seat alerts (docs/domain.md 5)."""

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SeatAlertRow:
    """From `min_seats` up: alert when remaining <= `limit` (a percentage of seats if
    `percent`, otherwise a seat count)."""

    min_seats: int
    limit: int
    percent: bool


SEAT_ALERT_TABLE: tuple[SeatAlertRow, ...] = (
    SeatAlertRow(min_seats=0, limit=1, percent=False),
    SeatAlertRow(min_seats=16, limit=2, percent=False),
    SeatAlertRow(min_seats=26, limit=10, percent=True),
    SeatAlertRow(min_seats=100, limit=8, percent=True),
    SeatAlertRow(min_seats=1000, limit=5, percent=True),
)


@dataclass(frozen=True, slots=True)
class SeatFigures:
    seats: int
    seats_in_use: int
    max_seats_used: int
    seats_owed: int
    seats_remaining: int
    alert: bool


def seats_owed(max_seats_used: int, seats: int, *, billable: bool) -> int:
    """Seats used beyond those paid for; only paid, non-trial subscriptions owe any."""
    return max(0, max_seats_used - seats) if billable else 0


def _alert_row(seats: int) -> SeatAlertRow:
    if seats < 0:
        raise ValueError("seats must not be negative")
    return next(row for row in reversed(SEAT_ALERT_TABLE) if seats >= row.min_seats)


def seat_alert(seats: int, seats_in_use: int) -> bool:
    """True when the seats remaining are at or below the alert threshold for `seats`."""
    row = _alert_row(seats)
    remaining = seats - seats_in_use
    if row.percent:
        # Integer comparison: 10% of 26 seats is 2.6, so 2 alerts and 3 does not.
        return remaining * 100 <= row.limit * seats
    return remaining <= row.limit


def max_seats_used_after(current_max: int, reported: int) -> int:
    """The term's maximum after a new report: it rises, never falls."""
    return max(current_max, reported)


def max_seats_at_term_start(seats_in_use: int) -> int:
    """A new term starts its maximum from the billable users at that moment."""
    return seats_in_use


def seat_figures(
    *,
    seats: int,
    seats_in_use: int,
    max_seats_used: int,
    paid: bool,
    trial: bool,
    comp_seats: int = 0,
) -> SeatFigures:
    """`seats` are the paid seats; staff's `comp_seats` cover usage beside them (owed,
    remaining and the alert count both) but are never billed."""
    billable = paid and not trial
    held = seats + comp_seats
    return SeatFigures(
        seats=seats,
        seats_in_use=seats_in_use,
        max_seats_used=max_seats_used,
        seats_owed=seats_owed(max_seats_used, held, billable=billable),
        seats_remaining=held - seats_in_use,
        alert=billable and seat_alert(held, seats_in_use),
    )
