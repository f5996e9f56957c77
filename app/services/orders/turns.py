"""Orders of this process take turns on a subscription (or deployment) in a queue of their
own, first come first served, so a waiting order sends no SQL at all: only the order at the
head of each queue goes to the database for the lease (app/db/lease_wait.py). The lease row
stays what protects a subscription across processes, from lifecycle jobs and from crashes;
the queue only keeps this process's orders from polling it."""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass, field

MIN_RETRY_AFTER = 1
MAX_RETRY_AFTER = 60
_FIRST_ESTIMATE = 0.1  # seconds one order holds its turn, until one has been measured


class Busy(Exception):
    """The turn did not come in time; a retry after about `retry_after` seconds may find it."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(retry_after)
        self.retry_after = retry_after


@dataclass
class _Queue:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    members: int = 0  # holding or waiting
    hold_seconds: float = _FIRST_ESTIMATE  # moving average of how long a turn lasts

    def retry_after(self) -> int:
        estimate = math.ceil(self.members * self.hold_seconds)
        return max(MIN_RETRY_AFTER, min(MAX_RETRY_AFTER, estimate))


class Turn:
    """A turn held; `release()` exactly once, when the order's critical section is over."""

    def __init__(self, turns: Turns, resource: str, queue: _Queue) -> None:
        self._turns, self._resource, self._queue = turns, resource, queue
        self._began = asyncio.get_running_loop().time()
        self._held = True

    def retry_after(self) -> int:
        return self._queue.retry_after()

    def release(self) -> None:
        if not self._held:
            return
        self._held = False
        held = asyncio.get_running_loop().time() - self._began
        self._queue.hold_seconds = 0.8 * self._queue.hold_seconds + 0.2 * held
        self._queue.lock.release()
        self._turns.leave(self._resource, self._queue)


class Turns:
    """One FIFO queue per leased resource, for this process (the runtime holds one)."""

    def __init__(self) -> None:
        self._queues: dict[str, _Queue] = {}

    async def take(self, resource: str, within: float) -> Turn:
        """Wait at most `within` seconds for the resource's turn, else raise Busy."""
        queue = self._queues.setdefault(resource, _Queue())
        queue.members += 1
        try:
            async with asyncio.timeout(max(within, 0.0)):
                await queue.lock.acquire()
        except TimeoutError:
            retry_after = queue.retry_after()
            self.leave(resource, queue)
            raise Busy(retry_after) from None
        except BaseException:
            self.leave(resource, queue)
            raise
        return Turn(self, resource, queue)

    def waiting(self, resource: str) -> int:
        """Orders holding or waiting for the resource's turn (for tests and the bench)."""
        queue = self._queues.get(resource)
        return queue.members if queue else 0

    def leave(self, resource: str, queue: _Queue) -> None:
        queue.members -= 1
        if queue.members == 0 and self._queues.get(resource) is queue:
            del self._queues[resource]
