"""BILLING_PROVIDER=stripe: the settings it needs, the checks at start-up, the registry."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.clock import FixedClock
from app.config import Settings
from app.providers import build_providers
from app.providers.billing.stripe import StripeBillingProvider
from tests.fakes.stripe import TEST_KEY, StripeFake
from tests.providers.factories import new_account

PRODUCTION = {
    "environment": "production",
    "jwt_secret": "x" * 40,
    "license_signing_key": "pem",
    "billing_provider": "stripe",
    "stripe_api_key": "sk_live_123",
}


def test_stripe_needs_an_api_key() -> None:
    with pytest.raises(ValidationError, match="STRIPE_API_KEY must be set"):
        Settings(billing_provider="stripe")


@pytest.mark.parametrize("key", ["sk_live_123", "rk_live_123", "pk_test_123"])
def test_the_test_clock_runs_only_with_a_test_mode_key(key: str) -> None:
    """Stripe's test clocks exist in test mode only: a live key with TEST_CLOCK is refused
    at start, before anything is sent to Stripe."""
    with pytest.raises(ValidationError, match="needs a test-mode STRIPE_API_KEY"):
        Settings(billing_provider="stripe", stripe_api_key=key, test_clock=True)


@pytest.mark.parametrize("key", [TEST_KEY, "rk_test_123"])
def test_a_test_mode_key_runs_with_the_test_clock(key: str) -> None:
    settings = Settings(billing_provider="stripe", stripe_api_key=key, test_clock=True)
    assert settings.test_clock
    assert Settings(billing_provider="stripe", stripe_api_key="sk_live_123").stripe_api_key


def test_the_retries_must_fit_in_half_the_request_limit() -> None:
    with pytest.raises(ValidationError, match="half of REQUEST_TIMEOUT_SECONDS"):
        Settings(
            billing_provider="stripe",
            stripe_api_key=TEST_KEY,
            stripe_timeout_seconds=4,
            stripe_max_network_retries=1,
        )


def test_production_needs_the_webhook_secret_and_https() -> None:
    with pytest.raises(ValidationError, match="STRIPE_WEBHOOK_SECRET must be set"):
        Settings(**PRODUCTION)
    with pytest.raises(ValidationError, match="STRIPE_API_BASE must be an https"):
        Settings(**PRODUCTION, stripe_webhook_secret="whsec_1", stripe_api_base="http://x")
    assert Settings(**PRODUCTION, stripe_webhook_secret="whsec_1").stripe_api_key


async def test_the_registry_builds_the_stripe_provider_from_settings(
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    clock: FixedClock,
    fake: StripeFake,
) -> None:
    chosen = Settings(
        **{
            **settings.model_dump(),
            "billing_provider": "stripe",
            "stripe_api_key": TEST_KEY,
            "stripe_api_base": fake.url,
        }
    )

    providers = build_providers(chosen, session_factory, clock)
    try:
        assert isinstance(providers.billing, StripeBillingProvider)
        account = await providers.billing.create_account(new_account(), idempotency_key="a-1")
    finally:
        await providers.aclose()

    assert [customer["id"] for customer in fake.objects("customer")] == [account.ref]
