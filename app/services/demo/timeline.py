"""Calendar arithmetic for the demo: dates relative to the seed day, terms, shares of money."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum


def add_months(day: date, months: int) -> date:
    """The same day `months` later (or earlier), clamped to the last day of that month."""
    year, month = divmod(day.year * 12 + day.month - 1 + months, 12)
    last_day = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last_day))


def scaled(amount: int, numerator: int, denominator: int) -> int:
    """round_half_up(amount * numerator / denominator) for non-negative integers."""
    return (2 * amount * numerator + denominator) // (2 * denominator)


class Base(StrEnum):
    TODAY = "TODAY"
    TERM_START = "TERM_START"


@dataclass(frozen=True, slots=True)
class Rel:
    """A day relative to the seed day (or to a subscription's term start)."""

    months: int = 0
    days: int = 0
    base: Base = Base.TODAY

    def on(self, today: date, term_start: date | None = None) -> date:
        origin = today if self.base is Base.TODAY else term_start
        if origin is None:
            raise ValueError("a day relative to a term start needs the term start")
        return add_months(origin, self.months) + timedelta(days=self.days)


@dataclass(frozen=True, slots=True)
class Term:
    """A term anchored at its start or at its end; 12 months unless told otherwise."""

    starts: Rel | None = None
    ends: Rel | None = None
    months: int = 12
    days: int = 0

    def dates(self, today: date) -> tuple[date, date]:
        if self.ends is not None:
            end = self.ends.on(today)
            return add_months(end, -self.months) - timedelta(days=self.days), end
        start = (self.starts or Rel()).on(today)
        return start, add_months(start, self.months) + timedelta(days=self.days)
