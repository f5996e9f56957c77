from __future__ import annotations

import re

import pytest

from app.db.tables.local_providers import LedgerAccount, LedgerIdempotency
from app.providers.billing import BillingAccountRecord, LocalBillingProvider
from app.providers.errors import ProviderNotFound, ProviderRejected
from tests.providers.conftest import RowCounter
from tests.providers.factories import new_account


async def test_create_account_returns_a_neutral_record(billing: LocalBillingProvider) -> None:
    account = await billing.create_account(
        new_account(payment_method="pm_card_visa"), idempotency_key="acct-1"
    )

    assert re.fullmatch(r"acct_\d{6}", account.ref)
    assert account == BillingAccountRecord(
        ref=account.ref,
        name="Acme Corp",
        email="billing@acme.test",
        currency="USD",
        payment_method="pm_card_visa",
    )


async def test_create_account_replays_the_first_response(
    billing: LocalBillingProvider, count_rows: RowCounter
) -> None:
    first = await billing.create_account(new_account(), idempotency_key="acct-1")
    second = await billing.create_account(new_account(), idempotency_key="acct-1")

    assert second == first
    assert await count_rows(LedgerAccount) == 1
    assert await count_rows(LedgerIdempotency) == 1


async def test_distinct_keys_create_distinct_accounts(billing: LocalBillingProvider) -> None:
    first = await billing.create_account(new_account(), idempotency_key="acct-1")
    second = await billing.create_account(new_account(), idempotency_key="acct-2")

    assert first.ref != second.ref


async def test_a_key_reused_with_other_arguments_is_rejected(
    billing: LocalBillingProvider, count_rows: RowCounter
) -> None:
    await billing.create_account(new_account(), idempotency_key="acct-1")

    with pytest.raises(ProviderRejected) as caught:
        await billing.create_account(new_account(name="Other"), idempotency_key="acct-1")

    assert caught.value.code == "idempotency_key_reused"
    assert await count_rows(LedgerAccount) == 1


async def test_a_key_reused_for_another_operation_is_rejected(
    billing: LocalBillingProvider,
) -> None:
    account = await billing.create_account(new_account(), idempotency_key="key-1")

    with pytest.raises(ProviderRejected) as caught:
        await billing.set_payment_method(account.ref, "pm_card_visa", idempotency_key="key-1")

    assert caught.value.code == "idempotency_key_reused"
    assert caught.value.retryable is False
    assert (await billing.get_accounts([account.ref]))[account.ref].payment_method is None


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"currency": "usd"}, "invalid_request"),
        ({"name": "  "}, "invalid_request"),
        ({"payment_method": "pm_card_unknown"}, "invalid_payment_method"),
    ],
)
async def test_malformed_accounts_are_rejected_and_change_nothing(
    billing: LocalBillingProvider,
    count_rows: RowCounter,
    overrides: dict[str, str],
    code: str,
) -> None:
    with pytest.raises(ProviderRejected) as caught:
        await billing.create_account(new_account(**overrides), idempotency_key="acct-1")

    assert caught.value.code == code
    assert await count_rows(LedgerAccount) == 0
    assert await count_rows(LedgerIdempotency) == 0


async def test_an_empty_idempotency_key_is_rejected(billing: LocalBillingProvider) -> None:
    with pytest.raises(ProviderRejected) as caught:
        await billing.create_account(new_account(), idempotency_key="")

    assert caught.value.code == "invalid_request"


async def test_set_payment_method_is_idempotent(
    billing: LocalBillingProvider, count_rows: RowCounter
) -> None:
    account = await billing.create_account(new_account(), idempotency_key="acct-1")

    first = await billing.set_payment_method(account.ref, "pm_card_visa", idempotency_key="pm-1")
    again = await billing.set_payment_method(account.ref, "pm_card_visa", idempotency_key="pm-1")

    assert first == again
    assert first.payment_method == "pm_card_visa"
    assert await count_rows(LedgerIdempotency) == 2


async def test_set_payment_method_refuses_an_unknown_token(billing: LocalBillingProvider) -> None:
    account = await billing.create_account(new_account(), idempotency_key="acct-1")

    with pytest.raises(ProviderRejected) as caught:
        await billing.set_payment_method(account.ref, "tok_4242", idempotency_key="pm-1")

    assert caught.value.code == "invalid_payment_method"


async def test_set_payment_method_on_an_unknown_account(billing: LocalBillingProvider) -> None:
    with pytest.raises(ProviderNotFound) as caught:
        await billing.set_payment_method("acct_999999", "pm_card_visa", idempotency_key="pm-1")

    assert caught.value.ref == "acct_999999"
    assert caught.value.provider == "local"


async def test_get_accounts_maps_known_refs_and_omits_unknown(
    billing: LocalBillingProvider,
) -> None:
    first = await billing.create_account(new_account(), idempotency_key="acct-1")
    second = await billing.create_account(new_account(name="Beta"), idempotency_key="acct-2")

    found = await billing.get_accounts([second.ref, "acct_999999", first.ref, first.ref])

    assert dict(found) == {first.ref: first, second.ref: second}
    assert await billing.get_accounts([]) == {}
