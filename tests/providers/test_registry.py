from __future__ import annotations

import pytest
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.clock import FixedClock
from app.config import Settings
from app.providers import Providers, build_providers
from app.providers.billing import LocalBillingProvider
from app.providers.crm import LocalCrmProvider
from app.providers.provisioning import LocalProvisioningTarget
from app.providers.provisioning.http import HttpProvisioningTarget
from tests.providers.factories import new_account


async def test_local_is_the_default(
    settings: Settings, session_factory: async_sessionmaker[AsyncSession], clock: FixedClock
) -> None:
    providers = build_providers(settings, session_factory, clock)

    assert isinstance(providers.billing, LocalBillingProvider)
    assert isinstance(providers.crm, LocalCrmProvider)
    assert isinstance(providers.provisioning, LocalProvisioningTarget)
    account = await providers.billing.create_account(new_account(), idempotency_key="acct-1")
    assert (await providers.billing.get_accounts([account.ref]))[account.ref] == account
    await providers.aclose()


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        (
            "billing_provider",
            "unknown billing_provider 'acme'; valid choices: local, stripe, zuora",
        ),
        ("crm_provider", "unknown crm_provider 'acme'; valid choices: local, salesforce"),
        ("provisioning_target", "unknown provisioning_target 'acme'; valid choices: http, local"),
    ],
)
def test_an_unknown_name_is_refused(
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    clock: FixedClock,
    setting: str,
    message: str,
) -> None:
    chosen = settings.model_copy(update={setting: "acme"})

    with pytest.raises(ValueError) as caught:
        build_providers(chosen, session_factory, clock)

    assert str(caught.value) == message


class _Closing:
    def __init__(self, error: Exception | None = None) -> None:
        self.closed = 0
        self.error = error

    async def aclose(self) -> None:
        self.closed += 1
        if self.error is not None:
            raise self.error


async def test_aclose_closes_each_implementation_once_even_after_a_failure() -> None:
    shared, failing = _Closing(), _Closing(RuntimeError("boom"))
    providers = Providers(billing=failing, crm=shared, provisioning=shared, mailer=shared)  # type: ignore[arg-type]

    with pytest.raises(ExceptionGroup) as caught:
        await providers.aclose()

    assert (failing.closed, shared.closed) == (1, 1)
    assert [str(error) for error in caught.value.exceptions] == ["boom"]


HTTP_TARGET = {
    "provisioning_target": "http",
    "provisioning_url": "https://gitlab.example.com",
    "provisioning_signing_secret": "s" * 32,
}


async def test_the_http_target_is_built_from_its_settings(
    database_url: str, session_factory: async_sessionmaker[AsyncSession], clock: FixedClock
) -> None:
    settings = Settings(environment="test", database_url=database_url, **HTTP_TARGET)

    providers = build_providers(settings, session_factory, clock)

    assert isinstance(providers.provisioning, HttpProvisioningTarget)
    assert settings.provisioning_timeout_seconds == 10.0
    await providers.aclose()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"provisioning_url": None}, "needs PROVISIONING_URL"),
        ({"provisioning_url": "ftp://gitlab.example.com"}, "needs PROVISIONING_URL"),
        ({"provisioning_url": "https://u:p@gitlab.example.com"}, "no query, fragment or cred"),
        ({"provisioning_signing_secret": None}, "needs PROVISIONING_SIGNING_SECRET"),
        ({"provisioning_signing_secret": "s" * 31}, "needs PROVISIONING_SIGNING_SECRET"),
        ({"provisioning_timeout_seconds": 0}, "greater than 0"),
    ],
)
def test_the_http_target_refuses_to_start_without_its_settings(
    database_url: str, overrides: dict[str, object], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        Settings(environment="test", database_url=database_url, **(HTTP_TARGET | overrides))


def test_in_production_the_http_target_needs_tls(database_url: str) -> None:
    production = {"environment": "production", "jwt_secret": "x" * 40, "license_signing_key": "k"}
    plain = HTTP_TARGET | {"provisioning_url": "http://gitlab.example.com"}

    with pytest.raises(ValidationError, match="must be https:// in production"):
        Settings(database_url=database_url, **production, **plain)
    assert Settings(database_url=database_url, **production, **HTTP_TARGET).provisioning_url
