"""The Zuora client: OAuth tokens (cached, refreshed before expiry and once after a 401, one
refresh shared by concurrent callers), Zuora's answers as typed errors (409/422 of an
Idempotency-Key, `success: false` on HTTP 200, 5xx, 429), and a key on every write."""

from __future__ import annotations

import asyncio
from datetime import date

import pytest

from app.clock import FixedClock
from app.providers.billing.zuora import ZuoraBillingProvider
from app.providers.errors import ProviderNotFound, ProviderRejected, ProviderUnavailable
from tests.fakes.zuora import ZuoraFake
from tests.providers.factories import PREMIUM, TERM_END, TERM_START, new_account, new_invoice
from tests.providers.zuora.conftest import Monotonic, provider_for


def _token_requests(fake: ZuoraFake) -> int:
    return sum(1 for entry in fake.log if entry.path == "/oauth/token")


def _statuses(fake: ZuoraFake, path: str) -> list[int]:
    return [entry.status for entry in fake.log if entry.path == path]


# -- tokens --------------------------------------------------------------------------------


async def test_a_token_is_fetched_once_and_reused(
    zuora: ZuoraBillingProvider, fake: ZuoraFake
) -> None:
    account = await zuora.create_account(new_account(), idempotency_key="acct-1")
    await zuora.get_accounts([account.ref])

    assert _token_requests(fake) == 1
    form = next(entry.body for entry in fake.log if entry.path == "/oauth/token")
    assert form["grant_type"] == "client_credentials"
    assert all(
        entry.headers.get("Authorization", "").startswith("Bearer ")
        for entry in fake.log
        if entry.path != "/oauth/token"
    )


async def test_a_token_is_refreshed_before_it_expires(
    zuora: ZuoraBillingProvider, fake: ZuoraFake, monotonic: Monotonic
) -> None:
    fake.token_lifetime = 100  # the client keeps it 100 - 60 s of margin
    account = await zuora.create_account(new_account(), idempotency_key="acct-1")
    monotonic.now += 39
    await zuora.get_accounts([account.ref])
    assert _token_requests(fake) == 1

    monotonic.now += 2  # 41 s: inside the margin, still valid at Zuora
    await zuora.get_accounts([account.ref])

    assert _token_requests(fake) == 2
    assert 401 not in (entry.status for entry in fake.log)


async def test_a_401_mid_run_refreshes_the_token_once_and_sends_again(
    zuora: ZuoraBillingProvider, fake: ZuoraFake
) -> None:
    account = await zuora.create_account(new_account(), idempotency_key="acct-1")
    fake.expire_tokens()

    found = await zuora.get_accounts([account.ref])

    assert found == {account.ref: account}
    assert _token_requests(fake) == 2
    assert _statuses(fake, f"/v1/accounts/{account.ref}")[-2:] == [401, 200]


async def test_concurrent_callers_share_one_refresh(
    zuora: ZuoraBillingProvider, fake: ZuoraFake
) -> None:
    account = await zuora.create_account(new_account(), idempotency_key="acct-1")
    fake.expire_tokens()

    answers = await asyncio.wait_for(
        asyncio.gather(*(zuora.get_accounts([account.ref]) for _ in range(8))), timeout=5
    )

    assert answers == [{account.ref: account}] * 8
    assert _token_requests(fake) == 2


async def test_concurrent_first_callers_fetch_one_token(fake: ZuoraFake, clock: FixedClock) -> None:
    provider = provider_for(fake, clock)
    try:
        await asyncio.wait_for(
            asyncio.gather(*(provider.get_accounts(["A00000001"]) for _ in range(8))), timeout=5
        )
    finally:
        await provider.aclose()

    assert _token_requests(fake) == 1


async def test_wrong_credentials_are_not_authorized(fake: ZuoraFake, clock: FixedClock) -> None:
    provider = provider_for(fake, clock, client_secret="wrong")
    try:
        with pytest.raises(ProviderRejected) as caught:
            await provider.get_accounts(["A00000001"])
    finally:
        await provider.aclose()

    assert caught.value.code == "not_authorized"


# -- answers as typed errors -----------------------------------------------------------------


async def test_a_key_in_progress_is_a_409_and_retryable(
    zuora: ZuoraBillingProvider, fake: ZuoraFake
) -> None:
    fake.faults.hang("/v1/accounts", 0.3)
    first = asyncio.create_task(zuora.create_account(new_account(), idempotency_key="acct-1"))
    await asyncio.sleep(0.1)

    with pytest.raises(ProviderUnavailable) as caught:
        await zuora.create_account(new_account(), idempotency_key="acct-1")
    account = await asyncio.wait_for(first, timeout=2)
    again = await zuora.create_account(new_account(), idempotency_key="acct-1")

    assert caught.value.retryable is True
    assert _statuses(fake, "/v1/accounts") == [200, 409, 200]
    assert again == account
    assert fake.count("account") == 1


async def test_a_key_reused_with_another_body_is_a_422(
    zuora: ZuoraBillingProvider, fake: ZuoraFake
) -> None:
    await zuora.create_account(new_account(), idempotency_key="acct-1")

    with pytest.raises(ProviderRejected) as caught:
        await zuora.create_account(new_account(name="Other"), idempotency_key="acct-1")

    assert caught.value.code == "idempotency_key_reused"
    assert _statuses(fake, "/v1/accounts") == [200, 422]
    assert fake.count("account") == 1


async def test_success_false_on_http_200_is_an_error(
    zuora: ZuoraBillingProvider, fake: ZuoraFake
) -> None:
    account = await zuora.create_account(new_account(), idempotency_key="acct-1")

    with pytest.raises(ProviderRejected) as refused:
        await zuora.set_payment_method(account.ref, "pm_card_unknown", idempotency_key="pm-1")
    with pytest.raises(ProviderNotFound) as missing:
        await zuora.set_payment_method("A99999999", "pm_card_visa", idempotency_key="pm-2")

    assert refused.value.code == "invalid_payment_method"
    assert "53000020" in refused.value.message
    assert (missing.value.ref, missing.value.provider) == ("A99999999", "zuora")
    assert _statuses(fake, "/v1/payment-methods") == [200, 200]


@pytest.mark.parametrize("status", [500, 503])
async def test_a_5xx_is_unavailable(
    zuora: ZuoraBillingProvider, fake: ZuoraFake, status: int
) -> None:
    fake.faults.fail("/v1/accounts", status=status)

    with pytest.raises(ProviderUnavailable):
        await zuora.create_account(new_account(), idempotency_key="acct-1")

    assert fake.count("account") == 0


async def test_a_429_is_unavailable_with_its_retry_hint(
    zuora: ZuoraBillingProvider, fake: ZuoraFake
) -> None:
    fake.faults.rate_limit("/v1/accounts", retry_after=2)

    with pytest.raises(ProviderUnavailable) as caught:
        await zuora.create_account(new_account(), idempotency_key="acct-1")

    assert "retry after 2 s" in caught.value.message
    assert fake.count("account") == 0


async def test_an_order_whose_answer_was_lost_is_placed_once(
    zuora: ZuoraBillingProvider, fake: ZuoraFake
) -> None:
    account = await zuora.create_account(new_account(), idempotency_key="acct-1")
    fake.faults.drop("/v1/orders")

    with pytest.raises(ProviderUnavailable):
        await zuora.create_subscription(
            account.ref, TERM_START, TERM_END, [PREMIUM], idempotency_key="sub-1"
        )
    created = await zuora.create_subscription(
        account.ref, TERM_START, TERM_END, [PREMIUM], idempotency_key="sub-1"
    )

    assert created.items == (PREMIUM,)
    assert (fake.count("subscription"), fake.executed("POST", "/v1/orders")) == (1, 1)


# -- every write carries a key ---------------------------------------------------------------


async def test_every_write_carries_an_idempotency_key(
    zuora: ZuoraBillingProvider, fake: ZuoraFake
) -> None:
    account = await zuora.create_account(
        new_account(payment_method="pm_card_visa"), idempotency_key="k-acct"
    )
    await zuora.set_payment_method(account.ref, "pm_card_mastercard", idempotency_key="k-pm")
    sub = await zuora.create_subscription(
        account.ref, TERM_START, TERM_END, [PREMIUM], idempotency_key="k-sub"
    )
    more = [PREMIUM.__class__("premium", 8, 34_800)]
    await zuora.preview_amendment(sub.ref, more, date(2026, 7, 2))
    await zuora.amend_subscription(sub.ref, more, date(2026, 7, 2), idempotency_key="k-amend")
    await zuora.cancel_subscription(sub.ref, idempotency_key="k-cancel")
    await zuora.reactivate_subscription(sub.ref, idempotency_key="k-react")
    await zuora.renew_subscription(
        sub.ref, TERM_END, date(2028, 1, 1), [PREMIUM], idempotency_key="k-renew"
    )
    paid = await zuora.create_invoice(new_invoice(account.ref), idempotency_key="k-inv")
    payment = await zuora.collect_payment(paid.ref, "pm_card_visa", idempotency_key="k-pay")
    await zuora.refund_payment(payment.ref, 100, idempotency_key="k-re")
    unpaid = await zuora.create_invoice(new_invoice(account.ref), idempotency_key="k-inv-2")
    await zuora.void_invoice(unpaid.ref, idempotency_key="k-void")

    writes = [
        entry
        for entry in fake.log
        if entry.method in ("POST", "PUT", "PATCH")
        and entry.path not in ("/oauth/token", "/v1/orders/preview")
    ]
    assert {entry.path for entry in writes} >= {
        "/v1/accounts",
        "/v1/payment-methods",
        "/v1/orders",
        "/v1/invoices",
        "/v1/payments",
        f"/v1/payments/{payment.ref}/refunds",
        f"/v1/invoices/{unpaid.ref}/cancel",
        "/v1/object/product",
    }
    assert [entry.path for entry in writes if not entry.key] == []
    assert [entry.key for entry in fake.log if entry.path == "/v1/orders/preview"] == [None]
    assert fake.count("order") == 5
