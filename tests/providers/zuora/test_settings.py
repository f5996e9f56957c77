"""BILLING_PROVIDER=zuora: the settings it needs, the checks at start-up, the registry."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.clock import FixedClock
from app.config import Settings
from app.providers import build_providers
from app.providers.billing.zuora import ZuoraBillingProvider
from tests.fakes.zuora import ZuoraFake
from tests.fakes.zuora.setup import zuora_settings
from tests.providers.factories import new_account

CLIENT = {"billing_provider": "zuora", "zuora_client_id": "id", "zuora_client_secret": "secret"}


def test_zuora_needs_its_oauth_client() -> None:
    with pytest.raises(ValidationError, match="ZUORA_CLIENT_ID and ZUORA_CLIENT_SECRET"):
        Settings(billing_provider="zuora", zuora_client_id="id")


def test_the_api_base_is_https_outside_tests() -> None:
    with pytest.raises(ValidationError, match="ZUORA_API_BASE must be an https"):
        Settings(**CLIENT, zuora_api_base="http://127.0.0.1:1")  # type: ignore[arg-type]
    assert Settings(**CLIENT, environment="test", zuora_api_base="http://127.0.0.1:1")  # type: ignore[arg-type]
    assert Settings(**CLIENT).zuora_api_base == "https://rest.zuora.com"  # type: ignore[arg-type]


def test_one_request_fits_in_half_the_request_limit() -> None:
    with pytest.raises(ValidationError, match="half of REQUEST_TIMEOUT_SECONDS"):
        Settings(**CLIENT, zuora_timeout_seconds=8)  # type: ignore[arg-type]


async def test_the_registry_builds_the_zuora_provider_and_closes_its_session(
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    clock: FixedClock,
    fake: ZuoraFake,
) -> None:
    chosen = Settings(**{**settings.model_dump(), **zuora_settings(fake)})
    providers = build_providers(chosen, session_factory, clock)
    assert isinstance(providers.billing, ZuoraBillingProvider)

    account = await providers.billing.create_account(new_account(), idempotency_key="acct-1")
    session = providers.billing.api._session
    await providers.aclose()

    assert account.ref == "A00000001"
    assert session is not None and session.closed
