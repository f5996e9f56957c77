"""Compute minutes (docs/domain.md 7): the plan's monthly quota, then purchased packs.

The quota resets on the 1st of each month (UTC). Purchased minutes are used only once the
month's quota is spent, the pack that expires first first, and they roll over from month to
month until their pack expires (a pack is usable while `today < expires_on`). Minutes beyond
both are `uncovered`: recorded, never taken from anything.

Alerts go out when what remains of this month's minutes (quota left + purchased left) falls
to 30%, 5% and 0% of what the month had (quota + purchased minutes used this month or still
left), compared in integers like the seat alerts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from app.domain.calendar import add_months
from app.domain.errors import DomainError, ErrorCode

ALERT_PERCENTAGES: tuple[int, ...] = (30, 5, 0)
MAX_EVENT_ID_LENGTH = 128
MAX_MINUTES_PER_REPORT = 1_000_000


@dataclass(frozen=True, slots=True)
class PackBalance:
    """One compute-minutes purchase: its size, what is used of it, and when it expires."""

    pack_id: int
    units: int
    units_used: int
    expires_on: date

    @property
    def remaining(self) -> int:
        return self.units - self.units_used

    def usable_on(self, today: date) -> bool:
        return today < self.expires_on and self.remaining > 0


@dataclass(frozen=True, slots=True)
class MonthUsage:
    """What a deployment used in one month: from the quota, from packs, and beyond both."""

    quota_used: int = 0
    purchased_used: int = 0
    uncovered: int = 0


@dataclass(frozen=True, slots=True)
class ComputeFigures:
    period_start: date
    period_end: date  # exclusive: the 1st of the next month, when the quota resets
    monthly_quota: int
    quota_used: int
    purchased_used: int  # this month
    purchased_remaining: int  # in packs still valid today, for this month and later
    uncovered: int

    @property
    def quota_remaining(self) -> int:
        return max(0, self.monthly_quota - self.quota_used)

    @property
    def available(self) -> int:
        """Minutes that can still be used this month."""
        return self.quota_remaining + self.purchased_remaining

    @property
    def month_total(self) -> int:
        """What this month had to use: its quota and the purchased minutes used or left."""
        return self.monthly_quota + self.purchased_used + self.purchased_remaining


@dataclass(frozen=True, slots=True)
class Allocation:
    """Where the minutes of one report were taken from."""

    minutes: int
    from_quota: int
    from_packs: tuple[tuple[int, int], ...]  # (pack id, minutes), in the order used
    uncovered: int

    @property
    def from_purchased(self) -> int:
        return sum(taken for _, taken in self.from_packs)


@dataclass(frozen=True, slots=True)
class ComputeReport:
    """A checked usage report: a non-blank event id and a positive number of minutes."""

    event_id: str
    minutes: int

    @classmethod
    def checked(cls, event_id: str, minutes: int) -> ComputeReport:
        cleaned = event_id.strip()
        if not cleaned or len(cleaned) > MAX_EVENT_ID_LENGTH:
            raise DomainError(
                ErrorCode.VALIDATION,
                f"`eventId` must be 1 to {MAX_EVENT_ID_LENGTH} characters.",
            )
        if not 1 <= minutes <= MAX_MINUTES_PER_REPORT:
            raise DomainError(
                ErrorCode.VALIDATION,
                f"`minutes` must be between 1 and {MAX_MINUTES_PER_REPORT:,} per report.",
            )
        return cls(cleaned, minutes)


def month_start(day: date) -> date:
    return day.replace(day=1)


def usable_packs(packs: Sequence[PackBalance], today: date) -> list[PackBalance]:
    """Packs with minutes left that have not expired, in the order they are used."""
    usable = [pack for pack in packs if pack.usable_on(today)]
    return sorted(usable, key=lambda pack: (pack.expires_on, pack.pack_id))


def compute_figures(
    monthly_quota: int, used: MonthUsage, packs: Sequence[PackBalance], today: date
) -> ComputeFigures:
    start = month_start(today)
    return ComputeFigures(
        period_start=start,
        period_end=add_months(start, 1),
        monthly_quota=monthly_quota,
        quota_used=used.quota_used,
        purchased_used=used.purchased_used,
        purchased_remaining=sum(pack.remaining for pack in usable_packs(packs, today)),
        uncovered=used.uncovered,
    )


def allocate(
    minutes: int, *, quota_remaining: int, packs: Sequence[PackBalance], today: date
) -> Allocation:
    """Take `minutes` from the month's quota first, then from packs, soonest expiry first."""
    if minutes < 0:
        raise ValueError("minutes must not be negative")
    from_quota = min(minutes, max(0, quota_remaining))
    rest = minutes - from_quota
    taken: list[tuple[int, int]] = []
    for pack in usable_packs(packs, today):
        if rest == 0:
            break
        take = min(rest, pack.remaining)
        taken.append((pack.pack_id, take))
        rest -= take
    return Allocation(minutes, from_quota, tuple(taken), rest)


def after_allocation(used: MonthUsage, allocation: Allocation) -> MonthUsage:
    return MonthUsage(
        quota_used=used.quota_used + allocation.from_quota,
        purchased_used=used.purchased_used + allocation.from_purchased,
        uncovered=used.uncovered + allocation.uncovered,
    )


def spend(packs: Sequence[PackBalance], allocation: Allocation) -> list[PackBalance]:
    """The packs after the allocation's minutes were taken from them."""
    taken = dict(allocation.from_packs)
    return [
        PackBalance(p.pack_id, p.units, p.units_used + taken.get(p.pack_id, 0), p.expires_on)
        for p in packs
    ]


def alert_reached(figures: ComputeFigures, percentage: int) -> bool:
    """At or below `percentage` percent of the month's minutes remain (none: no alert)."""
    total = figures.month_total
    return total > 0 and figures.available * 100 <= percentage * total


def newly_reached_alert(before: ComputeFigures, after: ComputeFigures) -> int | None:
    """The lowest alert percentage reached by this change and not before it, if any: a
    report that goes from 50% to nothing left sends the 0% alert, not three at once."""
    reached = [
        percentage
        for percentage in ALERT_PERCENTAGES
        if alert_reached(after, percentage) and not alert_reached(before, percentage)
    ]
    return min(reached) if reached else None
