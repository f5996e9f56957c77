import pytest

from app.domain.seats import (
    SeatFigures,
    max_seats_at_term_start,
    max_seats_used_after,
    seat_alert,
    seat_figures,
    seats_owed,
)


@pytest.mark.parametrize(
    ("seats", "remaining", "expected"),
    [
        (1, 1, True),
        (1, 2, False),
        (10, 1, True),
        (10, 2, False),
        (15, 1, True),
        (15, 2, False),
        (16, 2, True),
        (16, 3, False),
        (25, 2, True),
        (25, 3, False),
        (26, 2, True),  # 10% of 26 is 2.6
        (26, 3, False),
        (50, 5, True),
        (50, 6, False),
        (99, 9, True),  # 10% of 99 is 9.9
        (99, 10, False),
        (100, 8, True),
        (100, 9, False),
        (999, 79, True),  # 8% of 999 is 79.92
        (999, 80, False),
        (1000, 50, True),
        (1000, 51, False),
        (2500, 125, True),
        (2500, 126, False),
    ],
)
def test_seat_alert_table(seats: int, remaining: int, expected: bool) -> None:
    assert seat_alert(seats, seats - remaining) is expected


@pytest.mark.parametrize(("seats", "in_use"), [(10, 10), (10, 14), (100, 130)])
def test_alert_when_nothing_or_less_than_nothing_remains(seats: int, in_use: int) -> None:
    assert seat_alert(seats, in_use) is True


def test_seat_alert_rejects_negative_seats() -> None:
    with pytest.raises(ValueError):
        seat_alert(-1, 0)


@pytest.mark.parametrize(
    ("max_used", "seats", "billable", "expected"),
    [
        (12, 10, True, 2),
        (10, 10, True, 0),
        (7, 10, True, 0),
        (12, 10, False, 0),
    ],
)
def test_seats_owed(max_used: int, seats: int, billable: bool, expected: int) -> None:
    assert seats_owed(max_used, seats, billable=billable) == expected


def test_max_seats_used_rises_and_never_falls_within_a_term() -> None:
    maximum = max_seats_at_term_start(8)
    for reported, expected in [(9, 9), (12, 12), (10, 12), (3, 12), (13, 13)]:
        maximum = max_seats_used_after(maximum, reported)
        assert maximum == expected


def test_max_seats_used_resets_at_term_start() -> None:
    assert max_seats_used_after(13, 6) == 13
    assert max_seats_at_term_start(6) == 6


def test_seat_figures_for_paid_subscription() -> None:
    figures = seat_figures(seats=10, seats_in_use=12, max_seats_used=14, paid=True, trial=False)
    assert figures == SeatFigures(
        seats=10, seats_in_use=12, max_seats_used=14, seats_owed=4, seats_remaining=-2, alert=True
    )


def test_seat_figures_without_alert() -> None:
    figures = seat_figures(seats=10, seats_in_use=5, max_seats_used=6, paid=True, trial=False)
    assert (figures.seats_owed, figures.seats_remaining, figures.alert) == (0, 5, False)


def test_seat_figures_for_trial_owe_nothing_and_do_not_alert() -> None:
    figures = seat_figures(seats=5, seats_in_use=9, max_seats_used=9, paid=True, trial=True)
    assert (figures.seats_owed, figures.seats_remaining, figures.alert) == (0, -4, False)


def test_seat_figures_for_free_plan_owe_nothing_and_do_not_alert() -> None:
    figures = seat_figures(seats=0, seats_in_use=3, max_seats_used=3, paid=False, trial=False)
    assert (figures.seats_owed, figures.seats_remaining, figures.alert) == (0, -3, False)
