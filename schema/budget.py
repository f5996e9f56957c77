"""Query-cost budgets per caller and time window (fixed windows, GitHub-style points).

`BudgetStore` is the seam: `InMemoryBudgets` keeps the windows in this process, which is
right for one process only. Several uvicorn workers or replicas each keep their own windows,
so a caller could spend the budget once per process; run them with a shared store instead
(Redis: `INCRBY key cost` plus `EXPIRE key window NX` in one MULTI or Lua script, refusing
and giving the points back when the total passes the limit).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol


@dataclass(frozen=True)
class Budget:
    """One caller's window after an operation: what the operation costs (spent only when
    allowed) and what is left until `reset_at`."""

    limit: int
    remaining: int
    reset_at: datetime
    cost: int = 0
    allowed: bool = True

    def as_extension(self) -> dict[str, object]:
        return {
            "cost": self.cost,
            "limit": self.limit,
            "remaining": self.remaining,
            "resetAt": self.reset_at.isoformat(),
        }


class BudgetStore(Protocol):
    async def spend(self, key: str, cost: int, now: datetime) -> Budget:
        """Spend `cost` points if the window has them; otherwise refuse and spend nothing."""
        ...

    async def peek(self, key: str, now: datetime) -> Budget:
        """The window as it stands, spending nothing."""
        ...


@dataclass
class _Window:
    start: datetime
    spent: int = 0


class InMemoryBudgets:
    """Windows in a dict, per process. Reads and writes happen without an await in between,
    so concurrent requests on one event loop cannot both spend the last points."""

    def __init__(self, points: int, window: timedelta) -> None:
        self.points = points
        self.window = window
        self._windows: dict[str, _Window] = {}
        self._next_sweep: datetime | None = None

    async def spend(self, key: str, cost: int, now: datetime) -> Budget:
        window = self._current(key, now)
        if window.spent + cost > self.points:
            return self._budget(window, cost=cost, allowed=False)
        window.spent += cost
        return self._budget(window, cost=cost, allowed=True)

    async def peek(self, key: str, now: datetime) -> Budget:
        window = self._windows.get(key)
        if window is None or now >= window.start + self.window:
            return Budget(limit=self.points, remaining=self.points, reset_at=now + self.window)
        return self._budget(window, cost=0, allowed=True)

    def _current(self, key: str, now: datetime) -> _Window:
        self._sweep(now)
        window = self._windows.get(key)
        if window is None or now >= window.start + self.window:
            window = self._windows[key] = _Window(start=now)
        return window

    def _sweep(self, now: datetime) -> None:
        """Forget finished windows once per window length, so idle callers do not pile up."""
        if self._next_sweep is not None and now < self._next_sweep:
            return
        self._windows = {
            key: window for key, window in self._windows.items() if now < window.start + self.window
        }
        self._next_sweep = now + self.window

    def _budget(self, window: _Window, *, cost: int, allowed: bool) -> Budget:
        return Budget(
            limit=self.points,
            remaining=max(self.points - window.spent, 0),
            reset_at=window.start + self.window,
            cost=cost,
            allowed=allowed,
        )
