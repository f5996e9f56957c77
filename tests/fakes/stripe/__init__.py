"""A local fake of the Stripe API (server.py) for the Stripe billing provider's tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from tests.fakes.stripe.events import deliver_events
from tests.fakes.stripe.server import TEST_KEY, StripeFake


@asynccontextmanager
async def running_fake() -> AsyncIterator[StripeFake]:
    fake = StripeFake()
    await fake.start()
    try:
        yield fake
    finally:
        await fake.stop()


__all__ = ["TEST_KEY", "StripeFake", "deliver_events", "running_fake"]
