"""Accounts as Stripe Customers over real HTTP to the fake: the payment method attached and
made the invoice default, a card refused at attach, replays and reused keys."""

from __future__ import annotations

import pytest

from app.providers.billing.stripe import API_VERSION, StripeBillingProvider
from app.providers.errors import ProviderNotFound, ProviderRejected
from tests.fakes.stripe import StripeFake
from tests.providers.factories import new_account


async def test_create_account_is_a_customer_with_its_currency(
    stripe_billing: StripeBillingProvider, fake: StripeFake
) -> None:
    account = await stripe_billing.create_account(new_account(), idempotency_key="acct-1")

    (customer,) = fake.objects("customer")
    assert account.ref == customer["id"]
    assert (account.name, account.email, account.currency) == (
        "Acme Corp",
        "billing@acme.test",
        "USD",
    )
    assert account.payment_method is None
    assert customer["metadata"]["currency"] == "USD"
    assert {entry.version for entry in fake.log} == {API_VERSION}
    assert (await stripe_billing.get_accounts([account.ref]))[account.ref] == account


async def test_a_payment_method_is_attached_and_made_the_invoice_default(
    stripe_billing: StripeBillingProvider, fake: StripeFake
) -> None:
    account = await stripe_billing.create_account(
        new_account(payment_method="pm_card_visa"), idempotency_key="acct-1"
    )

    (method,) = fake.objects("payment_method")
    (customer,) = fake.objects("customer")
    assert account.payment_method == "pm_card_visa" != method["id"]
    assert method["customer"] == customer["id"]
    assert customer["invoice_settings"]["default_payment_method"] == method["id"]


async def test_set_payment_method_replaces_the_default(
    stripe_billing: StripeBillingProvider, fake: StripeFake
) -> None:
    account = await stripe_billing.create_account(
        new_account(payment_method="pm_card_visa"), idempotency_key="acct-1"
    )

    changed = await stripe_billing.set_payment_method(
        account.ref, "pm_card_mastercard", idempotency_key="card-1"
    )

    (_, mastercard) = fake.objects("payment_method")
    assert mastercard["card"]["brand"] == "mastercard"
    assert changed.payment_method == "pm_card_mastercard"
    assert (
        fake.objects("customer")[0]["invoice_settings"]["default_payment_method"]
        == (mastercard["id"])
    )
    assert (await stripe_billing.get_accounts([account.ref]))[account.ref] == changed


async def test_a_card_refused_at_attach_is_rejected_and_left_off(
    stripe_billing: StripeBillingProvider, fake: StripeFake
) -> None:
    account = await stripe_billing.create_account(
        new_account(payment_method="pm_card_visa"), idempotency_key="acct-1"
    )

    with pytest.raises(ProviderRejected) as refused:
        await stripe_billing.set_payment_method(
            account.ref, "pm_card_chargeDeclined", idempotency_key="card-1"
        )

    assert refused.value.code == "card_declined"
    assert "generic_decline" in refused.value.message
    assert len(fake.objects("payment_method")) == 1
    assert (await stripe_billing.get_accounts([account.ref]))[account.ref] == account


async def test_an_unknown_token_is_an_invalid_payment_method(
    stripe_billing: StripeBillingProvider,
) -> None:
    account = await stripe_billing.create_account(new_account(), idempotency_key="acct-1")

    with pytest.raises(ProviderRejected) as refused:
        await stripe_billing.set_payment_method(account.ref, "pm_bogus", idempotency_key="card-1")

    assert refused.value.code == "invalid_payment_method"


async def test_an_unknown_account_is_not_found(stripe_billing: StripeBillingProvider) -> None:
    with pytest.raises(ProviderNotFound):
        await stripe_billing.set_payment_method(
            "cus_missing", "pm_card_visa", idempotency_key="card-1"
        )


async def test_a_replay_returns_the_first_account_and_writes_once(
    stripe_billing: StripeBillingProvider, fake: StripeFake
) -> None:
    first = await stripe_billing.create_account(
        new_account(payment_method="pm_card_visa"), idempotency_key="acct-1"
    )

    again = await stripe_billing.create_account(
        new_account(payment_method="pm_card_visa"), idempotency_key="acct-1"
    )

    assert again == first
    assert fake.executed("POST", "/v1/customers") == 1
    assert fake.executed("POST", "/v1/payment_methods/*/attach") == 1
    assert fake.executed("POST", "/v1/customers/*") == 1
    assert len(fake.objects("customer")) == len(fake.objects("payment_method")) == 1


async def test_the_key_reused_for_other_arguments_is_refused(
    stripe_billing: StripeBillingProvider, fake: StripeFake
) -> None:
    await stripe_billing.create_account(new_account(), idempotency_key="acct-1")

    with pytest.raises(ProviderRejected) as refused:
        await stripe_billing.create_account(new_account(name="Other"), idempotency_key="acct-1")

    assert refused.value.code == "idempotency_key_reused"
    assert [c["name"] for c in fake.objects("customer")] == ["Acme Corp"]


async def test_the_key_reused_for_another_operation_is_refused(
    stripe_billing: StripeBillingProvider, fake: StripeFake
) -> None:
    account = await stripe_billing.create_account(new_account(), idempotency_key="key-1")

    with pytest.raises(ProviderRejected) as refused:
        await stripe_billing.set_payment_method(
            account.ref, "pm_card_visa", idempotency_key="key-1"
        )

    assert refused.value.code == "idempotency_key_reused"
    assert fake.objects("payment_method") == []


async def test_batch_reads_omit_unknown_refs(stripe_billing: StripeBillingProvider) -> None:
    a = await stripe_billing.create_account(new_account(), idempotency_key="acct-1")
    b = await stripe_billing.create_account(new_account(name="Beta"), idempotency_key="acct-2")

    found = await stripe_billing.get_accounts([a.ref, "cus_missing", b.ref, a.ref])

    assert found == {a.ref: a, b.ref: b}


async def test_a_blank_name_is_refused_before_any_request(
    stripe_billing: StripeBillingProvider, fake: StripeFake
) -> None:
    with pytest.raises(ProviderRejected) as refused:
        await stripe_billing.create_account(new_account(name=" "), idempotency_key="acct-1")

    assert (refused.value.provider, refused.value.code) == ("stripe", "invalid_request")
    assert fake.log == []


async def test_an_account_whose_card_is_refused_leaves_no_customer(
    stripe_billing: StripeBillingProvider, fake: StripeFake
) -> None:
    for _ in range(2):  # the first run, then its replay
        with pytest.raises(ProviderRejected) as refused:
            await stripe_billing.create_account(
                new_account(payment_method="pm_card_chargeDeclined"), idempotency_key="acct-1"
            )
        assert refused.value.code == "card_declined"

    assert fake.objects("customer") == []
    assert fake.executed("POST", "/v1/customers") == 1


async def test_a_default_changed_outside_the_app_is_shown_by_its_id(
    stripe_billing: StripeBillingProvider, fake: StripeFake
) -> None:
    account = await stripe_billing.create_account(
        new_account(payment_method="pm_card_visa"), idempotency_key="acct-1"
    )
    (customer,) = fake.objects("customer")
    customer["invoice_settings"]["default_payment_method"] = "pm_set_in_the_dashboard"

    found = await stripe_billing.get_accounts([account.ref])

    assert found[account.ref].payment_method == "pm_set_in_the_dashboard"
