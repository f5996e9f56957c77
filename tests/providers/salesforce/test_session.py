"""The JWT bearer session: one sign-in shared by calls, a new one when Salesforce says the
session expired (once: a second 401 is an error), refused assertions, the daily API limit
and its usage header."""

from __future__ import annotations

import asyncio
import time

import pytest

from app.providers.crm.salesforce import SalesforceCrmProvider
from app.providers.errors import ProviderRejected, ProviderUnavailable
from tests.fakes.salesforce import SalesforceFake, other_keys, settings_for
from tests.fakes.salesforce.server import API_LIMIT
from tests.providers.factories import crm_account

TOKEN = "/services/oauth2/token"


def sign_ins(fake: SalesforceFake) -> int:
    return fake.calls("POST", TOKEN)


async def test_calls_share_one_session(
    salesforce: SalesforceCrmProvider, fake: SalesforceFake
) -> None:
    await asyncio.gather(*(salesforce.get_accounts([f"crm-{n}"]) for n in range(5)))
    await salesforce.upsert_account(crm_account())

    assert sign_ins(fake) == 1
    assert fake.calls("GET") + fake.calls("PATCH") == 6


async def test_an_expired_session_is_renewed_once_and_the_call_sent_again(
    salesforce: SalesforceCrmProvider, fake: SalesforceFake
) -> None:
    await salesforce.upsert_account(crm_account())
    fake.expire_sessions()

    found = await salesforce.get_accounts(["crm-acme"])

    assert found == {"crm-acme": crm_account()}
    assert sign_ins(fake) == 2
    assert [e.status for e in fake.log if e.method == "GET"] == [401, 200]


async def test_a_second_401_is_an_error_not_a_loop(
    salesforce: SalesforceCrmProvider, fake: SalesforceFake
) -> None:
    await salesforce.get_accounts(["crm-acme"])
    fake.refuse_sessions(times=5)

    with pytest.raises(ProviderRejected) as caught:
        await salesforce.upsert_account(crm_account())

    assert caught.value.code == "not_authorized"
    assert sign_ins(fake) == 2
    assert fake.calls("PATCH", answered=False) == 2
    assert fake.records("Account") == []


@pytest.mark.parametrize(
    ("overrides", "clock_offset", "description"),
    [
        ({"private_key": other_keys().private_pem}, 0, "invalid assertion"),
        ({"username": "someone@else.test"}, 0, "user hasn't approved this consumer"),
        ({}, -3600, "expired authorization code"),
    ],
    ids=["bad-signature", "unknown-user", "expired"],
)
async def test_a_refused_assertion_is_not_authorized(
    fake: SalesforceFake, overrides: dict[str, str], clock_offset: int, description: str
) -> None:
    provider = SalesforceCrmProvider(
        settings_for(fake, **overrides), wall_clock=lambda: time.time() + clock_offset
    )
    try:
        with pytest.raises(ProviderRejected) as caught:
            await provider.get_accounts(["crm-acme"])
    finally:
        await provider.aclose()

    assert caught.value.code == "not_authorized"
    assert caught.value.retryable is False
    assert description in caught.value.message
    assert [e.status for e in fake.log] == [400]  # no data call went out


async def test_the_daily_limit_exceeded_is_unavailable_and_writes_nothing(
    salesforce: SalesforceCrmProvider, fake: SalesforceFake
) -> None:
    await salesforce.get_accounts(["crm-acme"])
    fake.exceed_limit()

    with pytest.raises(ProviderUnavailable) as caught:
        await salesforce.upsert_account(crm_account())

    assert caught.value.retryable is True
    assert "REQUEST_LIMIT_EXCEEDED" in caught.value.message
    assert fake.records("Account") == []
    assert await salesforce.upsert_account(crm_account()) == crm_account()


async def test_the_api_usage_of_the_last_answer_is_exposed(
    salesforce: SalesforceCrmProvider, fake: SalesforceFake
) -> None:
    assert salesforce.api_usage() is None

    await salesforce.get_accounts(["crm-acme"])
    first = salesforce.api_usage()
    await salesforce.upsert_account(crm_account())

    assert first == (fake.api_used - 1, API_LIMIT)
    assert salesforce.api_usage() == (fake.api_used, API_LIMIT)


async def test_usage_near_the_limit_is_logged_as_a_warning(
    salesforce: SalesforceCrmProvider, fake: SalesforceFake, caplog: pytest.LogCaptureFixture
) -> None:
    used = fake.api_used
    fake.api_used = API_LIMIT - 10
    try:
        await salesforce.get_accounts(["crm-acme"])
    finally:
        fake.api_used = used

    assert [r.levelname for r in caplog.records if "daily API requests" in r.message] == ["WARNING"]
