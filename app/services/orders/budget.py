"""The time an order has: it waits for its turn only while it can still finish before the
request's deadline, never starts a charge it could not finish, and once it holds the lease
runs to the end even if the request is cut (the caller stops waiting, the order does not)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

from app.config import Settings
from app.deadline import seconds_left
from app.domain.errors import DomainError

T = TypeVar("T")
logger = logging.getLogger("fulfillment.orders")
_RUNNING: set[asyncio.Future[Any]] = set()


@dataclass(frozen=True, slots=True)
class Budget:
    deadline: float  # the running loop's time by which the request must have answered
    reserve: float  # kept in hand for the critical section: prepare, charge, complete

    @classmethod
    def start(cls, settings: Settings, *, claim_seconds: float | None = None) -> Budget:
        """From the request's deadline (outside a request: a whole request limit from now),
        never past the order's claim (`claim_seconds` from now): once that runs out, a retry
        or the recovery job may take the order up while this request still waits."""
        limit = settings.request_timeout_seconds
        left = seconds_left()
        reserve = min(settings.order_charge_reserve_seconds, limit / 3)
        until = limit if left is None else left
        if claim_seconds is not None:
            until = min(until, claim_seconds)
        return cls(_now() + until, reserve)

    def to_wait(self) -> float:
        """Seconds the order may still wait for its turn and its lease."""
        return self.deadline - self.reserve - _now()

    def may_charge(self) -> bool:
        """Whether a charge started now would have half the reserve to finish in."""
        return self.deadline - _now() >= self.reserve / 2


async def shielded(work: Coroutine[Any, Any, T]) -> T:
    """Run `work` to its end even if the caller is cancelled (the request cut by its time
    limit); the task is kept referenced until it ends, and its outcome is logged then."""
    task = asyncio.ensure_future(work)
    _RUNNING.add(task)
    task.add_done_callback(_RUNNING.discard)
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        task.add_done_callback(_log_unseen)
        raise


def _log_unseen(task: asyncio.Future[Any]) -> None:
    if task.cancelled():
        return
    error = task.exception()
    if error is None:
        logger.info("An order finished after its request was cut by the time limit")
    elif isinstance(error, DomainError):
        logger.info("An order ended with %s after its request was cut", error.code)
    else:
        logger.error("An order failed after its request was cut", exc_info=error)


def _now() -> float:
    return asyncio.get_running_loop().time()
