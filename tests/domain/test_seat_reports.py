"""Seat usage reports (docs/domain.md 5): what a report must be, and what it does to the counts."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from app.domain.errors import DomainError, ErrorCode
from app.domain.seat_reports import (
    SeatCounts,
    SeatReport,
    counts_after,
    entered_alert,
    seat_alert_key,
)
from app.domain.seats import seat_figures

TODAY = date(2026, 6, 1)
TERM_START = date(2026, 1, 1)


def _report(users: int, at: datetime) -> SeatReport:
    return SeatReport.checked(users, at, TODAY)


def test_the_day_is_the_utc_day_of_the_report() -> None:
    late_in_new_york = datetime(2026, 5, 31, 22, 30, tzinfo=timezone(timedelta(hours=-4)))

    report = _report(7, late_in_new_york)

    assert report.reported_at == datetime(2026, 6, 1, 2, 30, tzinfo=UTC)
    assert report.day == TODAY


@pytest.mark.parametrize(
    ("users", "at", "message"),
    [
        (-1, datetime(2026, 6, 1, tzinfo=UTC), "`billableUsers` must be zero or more."),
        (
            5,
            datetime(2026, 6, 2, 0, 0, tzinfo=UTC),
            "`reportedAt` is after today (2026-06-01, UTC); reports cannot come from the future.",
        ),
        (
            5,
            datetime(2026, 6, 1, 10, 0),
            "`reportedAt` needs a UTC offset, e.g. 2026-06-01T10:00:00Z.",
        ),
    ],
)
def test_implausible_reports_are_refused(users: int, at: datetime, message: str) -> None:
    with pytest.raises(DomainError) as raised:
        SeatReport.checked(users, at, TODAY)
    assert raised.value == DomainError(ErrorCode.VALIDATION, message)


def test_later_today_is_still_today() -> None:
    assert _report(0, datetime(2026, 6, 1, 23, 59, tzinfo=UTC)).day == TODAY


def test_the_latest_report_sets_seats_in_use_and_raises_the_maximum() -> None:
    report = _report(12, datetime(2026, 5, 3, tzinfo=UTC))

    after = counts_after(SeatCounts(9, 10), report, latest=True, term_start=TERM_START)

    assert after == SeatCounts(seats_in_use=12, max_seats_used=12)


def test_a_lower_report_lowers_seats_in_use_but_never_the_maximum() -> None:
    report = _report(4, datetime(2026, 5, 3, tzinfo=UTC))

    after = counts_after(SeatCounts(9, 10), report, latest=True, term_start=TERM_START)

    assert after == SeatCounts(seats_in_use=4, max_seats_used=10)


def test_a_late_older_report_only_counts_toward_the_maximum() -> None:
    report = _report(15, datetime(2026, 4, 3, tzinfo=UTC))

    after = counts_after(SeatCounts(9, 10), report, latest=False, term_start=TERM_START)

    assert after == SeatCounts(seats_in_use=9, max_seats_used=15)


def test_a_report_from_before_the_term_leaves_the_terms_maximum_alone() -> None:
    report = _report(50, datetime(2025, 12, 31, 23, tzinfo=UTC))

    after = counts_after(SeatCounts(9, 10), report, latest=False, term_start=TERM_START)

    assert after == SeatCounts(seats_in_use=9, max_seats_used=10)


def test_entering_the_alert_zone_is_detected_once() -> None:
    calm, alert, deeper = (
        seat_figures(seats=10, seats_in_use=n, max_seats_used=n, paid=True, trial=False)
        for n in (8, 9, 10)
    )

    assert entered_alert(calm, alert) is True
    assert entered_alert(alert, deeper) is False  # already in the zone
    assert entered_alert(alert, calm) is False


def test_trials_never_enter_the_alert_zone() -> None:
    before, after = (
        seat_figures(seats=10, seats_in_use=n, max_seats_used=n, paid=True, trial=True)
        for n in (1, 10)
    )
    assert entered_alert(before, after) is False


def test_the_alert_key_names_the_subscription_term_and_seats() -> None:
    assert seat_alert_key(42, TERM_START, 10) == "seat-alert:42:2026-01-01:10"
