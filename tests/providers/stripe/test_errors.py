"""Every SDK failure comes out as a typed provider error: 5xx, 429, timeouts and dropped
connections are ProviderUnavailable (the SDK retries them first, with the same key, so a
retry that lands changes nothing twice); 4xx are rejections or not-found."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest

from app.clock import FixedClock
from app.providers.billing.stripe import StripeBillingProvider
from app.providers.errors import ProviderNotFound, ProviderRejected, ProviderUnavailable
from tests.fakes.stripe import StripeFake
from tests.providers.factories import new_account, new_invoice
from tests.providers.stripe.conftest import TIMEOUT, provider_for


@pytest.fixture
async def no_retries(fake: StripeFake, clock: FixedClock) -> AsyncIterator[StripeBillingProvider]:
    provider = provider_for(fake, clock, max_network_retries=0)
    yield provider
    await provider.aclose()


async def test_a_500_is_retried_with_the_same_key_and_lands_once(
    stripe_billing: StripeBillingProvider, fake: StripeFake
) -> None:
    fake.faults.fail("/v1/customers", times=1)

    account = await stripe_billing.create_account(new_account(), idempotency_key="acct-1")

    attempts = [entry for entry in fake.log if entry.path == "/v1/customers"]
    assert [(entry.status, entry.key) for entry in attempts] == [(500, "acct-1"), (200, "acct-1")]
    assert [customer["id"] for customer in fake.objects("customer")] == [account.ref]


async def test_5xx_beyond_the_retries_is_unavailable(
    stripe_billing: StripeBillingProvider, fake: StripeFake
) -> None:
    fake.faults.fail("/v1/customers", times=2, status=503)

    with pytest.raises(ProviderUnavailable):
        await stripe_billing.create_account(new_account(), idempotency_key="acct-1")

    assert fake.objects("customer") == []


async def test_a_short_retry_after_is_waited_out(
    stripe_billing: StripeBillingProvider, fake: StripeFake
) -> None:
    fake.faults.rate_limit("/v1/customers", retry_after=0.2)
    started = time.monotonic()

    await stripe_billing.create_account(new_account(), idempotency_key="acct-1")

    assert time.monotonic() - started >= 0.2
    assert [entry.status for entry in fake.log] == [429, 200]


async def test_a_long_retry_after_is_unavailable_at_once(
    stripe_billing: StripeBillingProvider, fake: StripeFake
) -> None:
    fake.faults.rate_limit("/v1/customers", retry_after=30)

    with pytest.raises(ProviderUnavailable) as unavailable:
        await stripe_billing.create_account(new_account(), idempotency_key="acct-1")

    assert "retry after 30 s" in unavailable.value.message
    assert len(fake.log) == 1


async def test_a_request_hanging_past_the_timeout_is_unavailable(
    no_retries: StripeBillingProvider, fake: StripeFake
) -> None:
    fake.faults.hang("/v1/customers/*", seconds=TIMEOUT * 2)

    with pytest.raises(ProviderUnavailable):
        await no_retries.get_accounts(["cus_anything"])


async def test_a_hang_then_a_retry_lands_once(
    stripe_billing: StripeBillingProvider, fake: StripeFake
) -> None:
    fake.faults.hang("/v1/customers", seconds=TIMEOUT * 2)

    account = await stripe_billing.create_account(new_account(), idempotency_key="acct-1")

    assert [customer["id"] for customer in fake.objects("customer")] == [account.ref]


async def test_a_dropped_answer_is_unavailable_and_the_same_key_replays_it(
    no_retries: StripeBillingProvider, fake: StripeFake
) -> None:
    fake.faults.drop("/v1/customers")

    with pytest.raises(ProviderUnavailable):
        await no_retries.create_account(new_account(), idempotency_key="acct-1")
    account = await no_retries.create_account(new_account(), idempotency_key="acct-1")

    (customer,) = fake.objects("customer")
    assert account.ref == customer["id"]
    assert fake.executed("POST", "/v1/customers") == 1


async def test_a_dropped_answer_is_retried_by_the_sdk(
    stripe_billing: StripeBillingProvider, fake: StripeFake
) -> None:
    fake.faults.drop("/v1/invoices")
    account = await stripe_billing.create_account(new_account(), idempotency_key="acct-1")

    invoice = await stripe_billing.create_invoice(new_invoice(account.ref), idempotency_key="i")

    assert [entry.replayed for entry in fake.log if entry.path == "/v1/invoices"] == [False, True]
    assert [stored["id"] for stored in fake.objects("invoice")] == [invoice.ref]


async def test_a_wrong_api_key_is_rejected(fake: StripeFake, clock: FixedClock) -> None:
    provider = provider_for(fake, clock, api_key="sk_test_wrong")
    try:
        with pytest.raises(ProviderRejected) as refused:
            await provider.get_accounts(["cus_1"])
    finally:
        await provider.aclose()

    assert refused.value.code == "not_authorized"


async def test_nothing_listening_is_unavailable(clock: FixedClock, fake: StripeFake) -> None:
    await fake.stop()
    provider = provider_for(fake, clock, max_network_retries=0)
    try:
        with pytest.raises(ProviderUnavailable):
            await provider.create_account(new_account(), idempotency_key="acct-1")
    finally:
        await provider.aclose()


async def test_an_unknown_object_is_not_found_with_its_ref(
    stripe_billing: StripeBillingProvider,
) -> None:
    with pytest.raises(ProviderNotFound) as missing:
        await stripe_billing.void_invoice("in_missing", idempotency_key="void-1")

    assert (missing.value.provider, missing.value.ref) == ("stripe", "in_missing")


async def test_aclose_closes_the_http_session(
    stripe_billing: StripeBillingProvider,
) -> None:
    await stripe_billing.get_accounts(["cus_1"])
    session = stripe_billing._api.http._cached_session
    assert session is not None and not session.closed

    await stripe_billing.aclose()

    assert session.closed
