"""What only the embedded billing provider promises; the behaviour every billing provider
shares is in contract/test_billing.py."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from app.clock import FixedClock
from app.db.tables.local_providers import LedgerIdempotency
from app.providers.billing import TEST_PAYMENT_METHODS, LocalBillingProvider
from app.providers.errors import ProviderRejected
from tests.providers.conftest import RowCounter
from tests.providers.factories import PREMIUM, TERM_END, TERM_START, new_account, new_invoice


async def test_refs_are_readable_and_sequential(billing: LocalBillingProvider) -> None:
    account = await billing.create_account(new_account(), idempotency_key="acct-1")
    subscription = await billing.create_subscription(
        account.ref, TERM_START, TERM_END, [PREMIUM], idempotency_key="sub-1"
    )
    invoice = await billing.create_invoice(new_invoice(account.ref), idempotency_key="inv-1")
    payment = await billing.collect_payment(invoice.ref, "pm_card_visa", idempotency_key="pay-1")
    refund = await billing.refund_payment(payment.ref, 100, idempotency_key="re-1")

    refs = [account.ref, subscription.ref, invoice.ref, payment.ref, refund.ref]
    assert all(re.fullmatch(r"[a-z]+_\d{6}", ref) for ref in refs)
    assert [ref.split("_")[0] for ref in refs] == ["acct", "sub", "inv", "pay", "re"]


async def test_one_idempotency_row_per_key_and_none_for_a_refusal(
    billing: LocalBillingProvider, count_rows: RowCounter
) -> None:
    account = await billing.create_account(new_account(), idempotency_key="acct-1")
    await billing.create_account(new_account(), idempotency_key="acct-1")
    assert await count_rows(LedgerIdempotency) == 1

    await billing.set_payment_method(account.ref, "pm_card_visa", idempotency_key="pm-1")
    await billing.set_payment_method(account.ref, "pm_card_visa", idempotency_key="pm-1")
    assert await count_rows(LedgerIdempotency) == 2

    subscription = await billing.create_subscription(
        account.ref, TERM_START, TERM_END, [PREMIUM], idempotency_key="sub-1"
    )
    for _ in range(2):
        await billing.amend_subscription(
            subscription.ref, [PREMIUM], date(2026, 7, 2), idempotency_key="amend-1"
        )
    assert await count_rows(LedgerIdempotency) == 4

    for overrides in ({"currency": "usd"}, {"name": "  "}, {"payment_method": "pm_card_x"}):
        with pytest.raises(ProviderRejected):
            await billing.create_account(new_account(**overrides), idempotency_key="bad-1")
    assert await count_rows(LedgerIdempotency) == 4


def test_the_test_tokens_are_documented() -> None:
    assert dict(TEST_PAYMENT_METHODS) == {
        "pm_card_visa": None,
        "pm_card_mastercard": None,
        "pm_card_declined": "card_declined",
        "pm_card_insufficient_funds": "insufficient_funds",
        "pm_card_chargeCustomerFail": "card_declined",
        "pm_card_chargeDeclined": "card_declined",
    }


@pytest.mark.parametrize(
    ("token", "failure_code"),
    [
        ("pm_card_declined", "card_declined"),
        ("pm_card_insufficient_funds", "insufficient_funds"),
        ("pm_card_chargeDeclined", "card_declined"),  # refused on an account, declines charged
    ],
)
async def test_the_local_declining_tokens(
    billing: LocalBillingProvider, token: str, failure_code: str
) -> None:
    account = await billing.create_account(new_account(), idempotency_key="acct-1")
    invoice = await billing.create_invoice(new_invoice(account.ref), idempotency_key="inv-1")

    payment = await billing.collect_payment(invoice.ref, token, idempotency_key="pay-1")

    assert (payment.status, payment.failure_code) == ("FAILED", failure_code)
    assert (await billing.get_invoices([invoice.ref]))[invoice.ref] == invoice


@pytest.mark.parametrize("token", ["pm_card_declined", "pm_card_insufficient_funds"])
async def test_the_local_declining_tokens_can_be_kept_on_an_account(
    billing: LocalBillingProvider, token: str
) -> None:
    account = await billing.create_account(
        new_account(payment_method=token), idempotency_key="acct-1"
    )

    assert account.payment_method == token


async def test_reactivate_after_the_term_ended_is_rejected(
    billing: LocalBillingProvider, clock: FixedClock
) -> None:
    account = await billing.create_account(new_account(), idempotency_key="acct-1")
    subscription = await billing.create_subscription(
        account.ref, TERM_START, TERM_END, [PREMIUM], idempotency_key="sub-1"
    )
    await billing.cancel_subscription(subscription.ref, idempotency_key="cancel-1")
    clock.advance(timedelta(days=365))

    with pytest.raises(ProviderRejected) as caught:
        await billing.reactivate_subscription(subscription.ref, idempotency_key="reactivate-1")

    assert caught.value.code == "subscription_ended"
    assert clock.today() == date(2027, 1, 1)
