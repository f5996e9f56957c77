"""Waiting for an order lease (order_lease) that another process holds, without polling it.

PostgreSQL: whoever gives a lease back sends `NOTIFY order_lease_released, '<resource>'` in
the same transaction (`notify_released`), and a waiter LISTENs on one pooled connection for
as long as it waits: it wakes when the holder commits. A holder that died sends nothing, so
the waiter also looks again every RECHECK_SECONDS (its lease expires; see commerce.py).
SQLite serves one process, whose orders queue in memory (app/services/orders/turns.py); the
only other holder is a `fulfillment worker` job on the same file, rare and short, so the
waiter looks again after a growing pause (BACKOFF_SECONDS doubling up to RECHECK_SECONDS)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

CHANNEL = "order_lease_released"
RECHECK_SECONDS = 1.0
BACKOFF_SECONDS = 0.05


class Released(Protocol):
    async def wait(self, seconds: float) -> None:
        """Return when the lease may have been given back, or after `seconds`."""


async def notify_released(session: AsyncSession, resource: str) -> None:
    """Wake the other processes' waiters for `resource` when this transaction commits."""
    if _dialect(session) == "postgresql":
        await session.execute(sa.select(sa.func.pg_notify(CHANNEL, resource)))


@asynccontextmanager
async def lease_released(
    sessions: async_sessionmaker[AsyncSession], resource: str
) -> AsyncIterator[Released]:
    """Listen for `resource` being given back while the block runs. Enter it before looking
    at the lease again, so a release between that look and the wait is not missed."""
    async with sessions() as session:
        if _dialect(session) != "postgresql":
            yield _Backoff()
            return
        driver = (await (await session.connection()).get_raw_connection()).driver_connection
        assert driver is not None
        notified = _Notified(resource)
        await driver.add_listener(CHANNEL, notified.heard)
        try:
            yield notified
        finally:
            with contextlib.suppress(Exception):
                await asyncio.shield(driver.remove_listener(CHANNEL, notified.heard))


class _Notified:
    def __init__(self, resource: str) -> None:
        self.resource = resource
        self.event = asyncio.Event()

    def heard(self, _connection: Any, _pid: int, _channel: str, payload: str) -> None:
        if payload == self.resource:
            self.event.set()

    async def wait(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(min(seconds, RECHECK_SECONDS)):
                await self.event.wait()
        self.event.clear()


class _Backoff:
    def __init__(self) -> None:
        self.pause = BACKOFF_SECONDS

    async def wait(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, min(seconds, self.pause)))
        self.pause = min(self.pause * 2, RECHECK_SECONDS)


def _dialect(session: AsyncSession) -> str:
    assert session.bind is not None, "sessions here are always bound"
    return session.bind.dialect.name
