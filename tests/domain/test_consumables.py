"""Compute minutes (docs/domain.md 7): quota first, then packs by expiry; alerts at 30/5/0%."""

from __future__ import annotations

from datetime import date

import pytest

from app.domain.consumables import (
    Allocation,
    ComputeFigures,
    ComputeReport,
    MonthUsage,
    PackBalance,
    after_allocation,
    allocate,
    compute_figures,
    month_start,
    newly_reached_alert,
    spend,
    usable_packs,
)
from app.domain.errors import DomainError, ErrorCode

PREMIUM_QUOTA = 10_000
APRIL = date(2026, 4, 10)


def _pack(pack_id: int, units: int, expires_on: date, used: int = 0) -> PackBalance:
    return PackBalance(pack_id, units, used, expires_on)


def test_worked_example_5_april_usage_leaves_2000_purchased_minutes() -> None:
    packs = [_pack(1, 5_000, date(2027, 3, 15))]
    used = MonthUsage()
    for minutes in (6_000, 4_000, 3_000):  # 13 000 minutes over April, in three reports
        figures = compute_figures(PREMIUM_QUOTA, used, packs, APRIL)
        allocation = allocate(
            minutes, quota_remaining=figures.quota_remaining, packs=packs, today=APRIL
        )
        used, packs = after_allocation(used, allocation), spend(packs, allocation)

    april = compute_figures(PREMIUM_QUOTA, used, packs, APRIL)
    assert (april.quota_used, april.purchased_used, april.uncovered) == (10_000, 3_000, 0)
    assert april.purchased_remaining == 2_000
    assert april.available == 2_000

    may = compute_figures(PREMIUM_QUOTA, MonthUsage(), packs, date(2026, 5, 1))
    assert (may.monthly_quota, may.quota_used, may.purchased_remaining) == (10_000, 0, 2_000)
    assert may.available == 12_000
    assert (may.period_start, may.period_end) == (date(2026, 5, 1), date(2026, 6, 1))


def test_the_quota_is_spent_before_any_pack() -> None:
    packs = [_pack(1, 1_000, date(2027, 1, 1))]

    allocation = allocate(700, quota_remaining=800, packs=packs, today=APRIL)

    assert allocation == Allocation(700, 700, (), 0)


def test_the_report_that_crosses_the_quota_splits_at_it() -> None:
    packs = [_pack(1, 1_000, date(2027, 1, 1))]

    allocation = allocate(700, quota_remaining=300, packs=packs, today=APRIL)

    assert allocation == Allocation(700, 300, ((1, 400),), 0)
    assert allocation.from_purchased == 400


def test_packs_are_used_soonest_expiry_first_whatever_their_order() -> None:
    late = _pack(1, 1_000, date(2027, 3, 1))
    soon = _pack(2, 1_000, date(2026, 9, 1), used=600)
    same_day_later_id = _pack(3, 500, date(2026, 9, 1))

    allocation = allocate(
        1_500, quota_remaining=0, packs=[late, same_day_later_id, soon], today=APRIL
    )

    assert allocation.from_packs == ((2, 400), (3, 500), (1, 600))
    assert allocation.uncovered == 0


def test_expired_and_empty_packs_are_skipped_and_the_rest_is_uncovered() -> None:
    expired = _pack(1, 1_000, APRIL)  # a pack ends on its expiry day
    empty = _pack(2, 1_000, date(2027, 1, 1), used=1_000)
    valid = _pack(3, 200, date(2027, 1, 1))

    allocation = allocate(500, quota_remaining=0, packs=[expired, empty, valid], today=APRIL)

    assert allocation == Allocation(500, 0, ((3, 200),), 300)
    assert usable_packs([expired, empty, valid], APRIL) == [valid]


def test_a_lower_quota_after_a_downgrade_leaves_nothing_negative() -> None:
    figures = compute_figures(400, MonthUsage(quota_used=10_000), [], APRIL)

    assert figures.quota_remaining == 0
    assert allocate(50, quota_remaining=figures.quota_remaining, packs=[], today=APRIL) == (
        Allocation(50, 0, (), 50)
    )


def test_the_month_starts_on_the_first_utc_day() -> None:
    assert month_start(date(2026, 12, 31)) == date(2026, 12, 1)
    figures = compute_figures(PREMIUM_QUOTA, MonthUsage(), [], date(2026, 12, 31))
    assert figures.period_end == date(2027, 1, 1)


def _figures(quota_used: int, purchased_used: int, pack_left: int) -> ComputeFigures:
    packs = [_pack(1, pack_left + purchased_used, date(2027, 1, 1), used=purchased_used)]
    return compute_figures(PREMIUM_QUOTA, MonthUsage(quota_used, purchased_used), packs, APRIL)


@pytest.mark.parametrize(
    ("before_used", "after_used", "expected"),
    [
        (0, 10_000, None),  # 5 000 of 15 000 left: 33.3%
        (10_000, 10_500, 30),  # 4 500 of 15 000 left: exactly 30%
        (10_500, 10_600, None),  # 30% already reached
        (10_600, 14_250, 5),  # 750 left: exactly 5%
        (14_250, 15_000, 0),  # nothing left
        (0, 15_000, 0),  # one report from everything to nothing: the 0% alert only
        (10_499, 10_501, 30),
    ],
)
def test_alert_thresholds(before_used: int, after_used: int, expected: int | None) -> None:
    def figures(total_used: int) -> ComputeFigures:
        quota_used = min(total_used, PREMIUM_QUOTA)
        purchased_used = total_used - quota_used
        return _figures(quota_used, purchased_used, pack_left=5_000 - purchased_used)

    assert newly_reached_alert(figures(before_used), figures(after_used)) == expected


def test_no_alert_when_the_month_has_nothing_to_use() -> None:
    empty = compute_figures(0, MonthUsage(uncovered=10), [], APRIL)
    assert (
        newly_reached_alert(empty, compute_figures(0, MonthUsage(uncovered=20), [], APRIL)) is None
    )


@pytest.mark.parametrize(
    ("event_id", "minutes", "message"),
    [
        ("", 10, "`eventId` must be 1 to 128 characters."),
        ("   ", 10, "`eventId` must be 1 to 128 characters."),
        ("x" * 129, 10, "`eventId` must be 1 to 128 characters."),
        ("job-1", 0, "`minutes` must be between 1 and 1,000,000 per report."),
        ("job-1", -5, "`minutes` must be between 1 and 1,000,000 per report."),
        ("job-1", 1_000_001, "`minutes` must be between 1 and 1,000,000 per report."),
    ],
)
def test_malformed_reports_are_refused(event_id: str, minutes: int, message: str) -> None:
    with pytest.raises(DomainError) as raised:
        ComputeReport.checked(event_id, minutes)
    assert raised.value == DomainError(ErrorCode.VALIDATION, message)


def test_a_report_keeps_its_trimmed_event_id() -> None:
    assert ComputeReport.checked("  job-7 ", 1_000_000) == ComputeReport("job-7", 1_000_000)
