"""A local fake of Zuora's v1 REST API (server.py) for the Zuora billing provider's tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from tests.fakes.zuora.server import CLIENT_ID, CLIENT_SECRET, ZuoraFake


@asynccontextmanager
async def running_fake() -> AsyncIterator[ZuoraFake]:
    fake = ZuoraFake()
    await fake.start()
    try:
        yield fake
    finally:
        await fake.stop()


__all__ = ["CLIENT_ID", "CLIENT_SECRET", "ZuoraFake", "running_fake"]
