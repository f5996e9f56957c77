"""Time as a dependency: lifecycle code reads the clock it is given, never the wall."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Protocol, runtime_checkable


class Clock(Protocol):
    def now(self) -> datetime: ...

    def today(self) -> date: ...


@runtime_checkable
class AdjustableClock(Protocol):
    """A clock an admin may move forward (the test clock; never in production)."""

    def now(self) -> datetime: ...

    def today(self) -> date: ...

    def advance(self, delta: timedelta) -> None: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def today(self) -> date:
        return self.now().date()


@dataclass
class FixedClock:
    """A clock that moves only when told to (tests, demos, the admin test clock)."""

    current: datetime = field(default_factory=lambda: datetime.now(UTC))

    def now(self) -> datetime:
        return self.current

    def today(self) -> date:
        return self.current.date()

    def advance(self, delta: timedelta) -> None:
        self.current += delta

    def set(self, moment: datetime) -> None:
        if moment.tzinfo is None:
            raise ValueError("the clock takes timezone-aware datetimes")
        self.current = moment


@dataclass
class OffsetClock:
    """The wall clock plus an offset that only grows: time keeps flowing, and an admin can
    jump it forward (TEST_CLOCK=true in development, as Stripe's test clocks do)."""

    offset: timedelta = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def today(self) -> date:
        return self.now().date()

    def advance(self, delta: timedelta) -> None:
        if delta < timedelta(0):
            raise ValueError("the test clock only moves forward")
        self.offset += delta
