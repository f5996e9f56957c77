"""Fixtures of the Stripe provider tests: the fake Stripe API on a random local port, its
clock following the tests' fixed clock, and the provider pointed at it (real HTTP)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from app.clock import FixedClock
from app.providers.billing.stripe import StripeBillingProvider, StripeSettings
from tests.fakes.stripe import TEST_KEY, StripeFake, running_fake

# Short, so the hang and timeout tests finish quickly; one retry as in production.
TIMEOUT = 0.5


@pytest.fixture
async def fake(clock: FixedClock) -> AsyncIterator[StripeFake]:
    async with running_fake() as fake:
        fake.store.clock = lambda: clock.now().timestamp()
        yield fake


def provider_for(fake: StripeFake, clock: FixedClock, **overrides: object) -> StripeBillingProvider:
    settings = StripeSettings(api_key=TEST_KEY, api_base=fake.url, timeout_seconds=TIMEOUT)
    for name, value in overrides.items():
        settings = StripeSettings(**{**_fields(settings), name: value})
    return StripeBillingProvider(settings, clock)


def _fields(settings: StripeSettings) -> dict[str, object]:
    return {name: getattr(settings, name) for name in settings.__slots__}


@pytest.fixture
async def stripe_billing(
    fake: StripeFake, clock: FixedClock
) -> AsyncIterator[StripeBillingProvider]:
    provider = provider_for(fake, clock)
    yield provider
    await provider.aclose()
