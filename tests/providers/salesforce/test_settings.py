"""CRM_PROVIDER=salesforce: the settings it needs, the checks at start-up, the registry."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.clock import FixedClock
from app.config import Settings
from app.providers import build_providers
from app.providers.crm.salesforce import SalesforceCrmProvider
from tests.fakes.salesforce import CLIENT_ID, USERNAME, SalesforceFake, app_keys
from tests.providers.factories import crm_account


def salesforce(**overrides: Any) -> dict[str, Any]:
    return {
        "crm_provider": "salesforce",
        "salesforce_client_id": CLIENT_ID,
        "salesforce_username": USERNAME,
        "salesforce_private_key": app_keys().private_pem,
        **overrides,
    }


def test_a_complete_configuration_is_accepted() -> None:
    settings = Settings(**salesforce())

    assert settings.salesforce_login_url == "https://login.salesforce.com"
    assert settings.salesforce_api_version == "v61.0"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"salesforce_client_id": None}, "needs SALESFORCE_CLIENT_ID"),
        (
            {"salesforce_username": "", "salesforce_private_key": None},
            "needs SALESFORCE_USERNAME, SALESFORCE_PRIVATE_KEY",
        ),
        ({"salesforce_private_key": "not a key"}, "RSA private key in PEM"),
        ({"salesforce_login_url": "login.salesforce.com"}, "SALESFORCE_LOGIN_URL must be"),
        ({"salesforce_login_url": "https://x.test/services"}, "without a path"),
        ({"salesforce_api_version": "61"}, "salesforce_api_version"),
        ({"salesforce_timeout_seconds": 6}, "x 3 must be at most REQUEST_TIMEOUT_SECONDS"),
    ],
)
def test_an_incomplete_configuration_is_refused_at_start(
    overrides: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        Settings(**salesforce(**overrides))


def test_production_signs_in_over_https_only() -> None:
    production = {"environment": "production", "jwt_secret": "x" * 40, "license_signing_key": "k"}

    with pytest.raises(ValidationError, match="https:// in production"):
        Settings(**production, **salesforce(salesforce_login_url="http://login.test"))
    assert Settings(**production, **salesforce()).crm_provider == "salesforce"


async def test_the_registry_builds_the_salesforce_provider_from_settings(
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    clock: FixedClock,
    fake: SalesforceFake,
) -> None:
    chosen = Settings(**{**settings.model_dump(), **salesforce(salesforce_login_url=fake.url)})

    providers = build_providers(chosen, session_factory, clock)
    try:
        assert isinstance(providers.crm, SalesforceCrmProvider)
        await providers.crm.upsert_account(crm_account())
    finally:
        await providers.aclose()

    assert [r["External_Id__c"] for r in fake.records("Account")] == ["crm-acme"]
    assert providers.crm.api._http is None  # closed
