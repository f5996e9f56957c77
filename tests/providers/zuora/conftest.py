"""Fixtures of the Zuora provider tests: one fake Zuora API per module (emptied before each
test, its today the tests' fixed clock's), and the provider pointed at it (real HTTP)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable

import pytest

from app.clock import FixedClock
from app.providers.billing.zuora import ZuoraBillingProvider, ZuoraSettings
from tests.fakes.zuora import CLIENT_ID, CLIENT_SECRET, ZuoraFake, running_fake

TIMEOUT = 0.5  # what a hang outlasts


@pytest.fixture(scope="module")
async def module_fake() -> AsyncIterator[ZuoraFake]:
    async with running_fake() as fake:
        yield fake


@pytest.fixture
def fake(module_fake: ZuoraFake, clock: FixedClock) -> ZuoraFake:
    module_fake.reset()
    module_fake.store.today = clock.today
    return module_fake


class Monotonic:
    """The client's clock, moved by hand (token expiry without waiting)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def monotonic() -> Monotonic:
    return Monotonic()


def provider_for(
    fake: ZuoraFake,
    clock: FixedClock,
    monotonic: Callable[[], float] | None = None,
    **given: object,
) -> ZuoraBillingProvider:
    settings = ZuoraSettings(
        **{
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "api_base": fake.url,
            "timeout_seconds": TIMEOUT,
            **given,
        }  # type: ignore[arg-type]
    )
    return ZuoraBillingProvider(settings, clock, monotonic=monotonic or time.monotonic)


@pytest.fixture
async def zuora(
    fake: ZuoraFake, clock: FixedClock, monotonic: Monotonic
) -> AsyncIterator[ZuoraBillingProvider]:
    provider = provider_for(fake, clock, monotonic)
    yield provider
    await provider.aclose()
