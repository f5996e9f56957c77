"""How long the current request may still run. The HTTP time limit sets the deadline; work
that must not be cut half-way (an order between its charge and its completion) reads it, so
it stops waiting while there is still time to finish, and never starts what it cannot."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_DEADLINE: ContextVar[float | None] = ContextVar("request_deadline", default=None)


@contextmanager
def request_deadline(when: float) -> Iterator[None]:
    """Within this block the request must be done by `when` (the running loop's time)."""
    token = _DEADLINE.set(when)
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def seconds_left() -> float | None:
    """Seconds until the current request's deadline; None outside a time-limited request."""
    when = _DEADLINE.get()
    return None if when is None else when - asyncio.get_running_loop().time()
