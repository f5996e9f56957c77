"""Quarterly reconciliation rules and lifecycle dates: worked example 4 to the cent."""

from __future__ import annotations

from datetime import date

import pytest

from app.domain.lifecycle import (
    expires_on,
    next_retry_on,
    renewal_reminders_until,
    trial_ending_notices_until,
)
from app.domain.reconciliation import (
    Quarter,
    overage,
    overage_amount,
    quarters,
    remaining_quarters,
)

PREMIUM = 34_800
TERM = (date(2026, 1, 1), date(2027, 1, 1))


def test_a_term_has_three_quarters_to_reconcile() -> None:
    assert quarters(*TERM) == (
        Quarter(1, date(2026, 1, 1), date(2026, 4, 1)),
        Quarter(2, date(2026, 4, 1), date(2026, 7, 1)),
        Quarter(3, date(2026, 7, 1), date(2026, 10, 1)),
    )
    assert [q.invoice_on for q in quarters(*TERM)] == [
        date(2026, 4, 8),
        date(2026, 7, 8),
        date(2026, 10, 8),
    ]
    assert [remaining_quarters(q.number) for q in quarters(*TERM)] == [3, 2, 1]


def test_quarters_clamp_to_short_months_and_stop_before_the_term_end() -> None:
    assert [q.end for q in quarters(date(2026, 11, 30), date(2027, 11, 30))] == [
        date(2027, 2, 28),
        date(2027, 5, 30),
        date(2027, 8, 30),
    ]
    assert quarters(date(2026, 1, 1), date(2026, 7, 1)) == (
        Quarter(1, date(2026, 1, 1), date(2026, 4, 1)),
    )
    assert quarters(date(2026, 1, 1), date(2026, 2, 1)) == ()


def test_worked_example_4() -> None:
    paid = 100
    q1 = overage(max([100, 110, 104]), paid)
    assert (q1, overage_amount(q1, PREMIUM, 1)) == (10, 261_000)
    paid = 110
    q2 = overage(105, paid)
    assert (q2, overage_amount(q2, PREMIUM, 2)) == (0, 0)
    q3 = overage(max([120, 99]), paid)
    assert (q3, overage_amount(q3, PREMIUM, 3)) == (10, 87_000)
    assert overage_amount(10, PREMIUM, 4) == 0


def test_amounts_round_half_up_to_the_cent() -> None:
    assert overage_amount(1, 1_001, 2) == 501  # 500.5
    assert overage_amount(1, 1_003, 1) == 752  # 752.25
    assert overage_amount(3, 999, 3) == 749  # 749.25


def test_no_reports_means_nothing_used() -> None:
    assert overage(0, 10) == 0


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(ValueError):
        overage_amount(1, 100, 0)
    with pytest.raises(ValueError):
        overage_amount(-1, 100, 1)


def test_grace_retries_and_reminders() -> None:
    end = date(2027, 1, 1)
    assert expires_on(end) == date(2027, 1, 15)
    assert [next_retry_on(end, n) for n in (1, 2, 3, 4)] == [
        date(2027, 1, 4),
        date(2027, 1, 8),
        date(2027, 1, 12),
        None,
    ]
    assert renewal_reminders_until(date(2026, 12, 17)) == end
    assert trial_ending_notices_until(date(2026, 12, 29)) == end
    with pytest.raises(ValueError):
        next_retry_on(end, 0)
