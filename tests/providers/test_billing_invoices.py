from __future__ import annotations

import re
from datetime import date

import pytest

from app.db.tables.local_providers import LedgerInvoice, LedgerPayment
from app.providers.billing import (
    TEST_PAYMENT_METHODS,
    InvoiceRecord,
    InvoiceStatus,
    LocalBillingProvider,
    PaymentStatus,
)
from app.providers.errors import ProviderNotFound, ProviderRejected
from tests.providers.conftest import NOW, RowCounter
from tests.providers.factories import (
    PREMIUM,
    TERM_END,
    TERM_START,
    invoice_line,
    new_account,
    new_invoice,
)


async def _invoice(billing: LocalBillingProvider) -> InvoiceRecord:
    account = await billing.create_account(new_account(), idempotency_key="acct-1")
    return await billing.create_invoice(new_invoice(account.ref), idempotency_key="inv-1")


async def test_create_invoice_totals_the_lines(billing: LocalBillingProvider) -> None:
    account = await billing.create_account(new_account(), idempotency_key="acct-1")
    credit = invoice_line(description="Unused Premium", amount=-262_192, quantity=10)
    charge = invoice_line(description="Ultimate", amount=895_068, quantity=10)

    invoice = await billing.create_invoice(
        new_invoice(account.ref, lines=(credit, charge)), idempotency_key="inv-1"
    )

    assert re.fullmatch(r"inv_\d{6}", invoice.ref)
    assert (invoice.total, invoice.balance) == (632_876, 632_876)
    assert invoice.status == InvoiceStatus.OPEN
    assert invoice.issued_on == NOW.date()
    assert invoice.due_on == date(2026, 1, 31)
    assert invoice.lines == (credit, charge)


async def test_create_invoice_replays(
    billing: LocalBillingProvider, count_rows: RowCounter
) -> None:
    first = await _invoice(billing)
    again = await billing.create_invoice(new_invoice(first.account_ref), idempotency_key="inv-1")

    assert again == first
    assert await count_rows(LedgerInvoice) == 1


async def test_an_invoice_for_a_subscription(billing: LocalBillingProvider) -> None:
    account = await billing.create_account(new_account(), idempotency_key="acct-1")
    subscription = await billing.create_subscription(
        account.ref, TERM_START, TERM_END, [PREMIUM], idempotency_key="sub-1"
    )

    invoice = await billing.create_invoice(
        new_invoice(account.ref, subscription_ref=subscription.ref), idempotency_key="inv-1"
    )

    assert invoice.subscription_ref == subscription.ref
    assert (await billing.get_invoices([invoice.ref, "inv_999999"])) == {invoice.ref: invoice}


async def test_a_zero_invoice_is_issued_paid(billing: LocalBillingProvider) -> None:
    account = await billing.create_account(new_account(), idempotency_key="acct-1")

    invoice = await billing.create_invoice(
        new_invoice(account.ref, lines=(invoice_line(amount=0),)), idempotency_key="inv-1"
    )

    assert (invoice.status, invoice.total, invoice.balance) == ("PAID", 0, 0)


async def test_an_invoice_in_another_currency_is_rejected(
    billing: LocalBillingProvider, count_rows: RowCounter
) -> None:
    account = await billing.create_account(new_account(), idempotency_key="acct-1")

    with pytest.raises(ProviderRejected) as caught:
        await billing.create_invoice(
            new_invoice(account.ref, currency="EUR"), idempotency_key="inv-1"
        )

    assert caught.value.code == "currency_mismatch"
    assert await count_rows(LedgerInvoice) == 0


@pytest.mark.parametrize(
    "overrides",
    [
        {"lines": ()},
        {"lines": (invoice_line(amount=-1),)},
        {"lines": (invoice_line(amount=1.5),)},
        {"due_on": date(2025, 12, 31)},
    ],
)
async def test_malformed_invoices_are_rejected(
    billing: LocalBillingProvider, overrides: dict[str, object]
) -> None:
    account = await billing.create_account(new_account(), idempotency_key="acct-1")

    with pytest.raises(ProviderRejected) as caught:
        await billing.create_invoice(new_invoice(account.ref, **overrides), idempotency_key="inv-1")

    assert caught.value.code == "invalid_request"


async def test_an_invoice_for_another_accounts_subscription(
    billing: LocalBillingProvider,
) -> None:
    owner = await billing.create_account(new_account(), idempotency_key="acct-1")
    other = await billing.create_account(new_account(), idempotency_key="acct-2")
    subscription = await billing.create_subscription(
        owner.ref, TERM_START, TERM_END, [PREMIUM], idempotency_key="sub-1"
    )

    with pytest.raises(ProviderRejected) as caught:
        await billing.create_invoice(
            new_invoice(other.ref, subscription_ref=subscription.ref), idempotency_key="inv-1"
        )

    assert caught.value.code == "invalid_request"


async def test_an_invoice_for_an_unknown_account(billing: LocalBillingProvider) -> None:
    with pytest.raises(ProviderNotFound):
        await billing.create_invoice(new_invoice("acct_999999"), idempotency_key="inv-1")


@pytest.mark.parametrize("token", ["pm_card_visa", "pm_card_mastercard"])
async def test_a_good_card_pays_the_invoice(billing: LocalBillingProvider, token: str) -> None:
    invoice = await _invoice(billing)

    payment = await billing.collect_payment(invoice.ref, token, idempotency_key="pay-1")

    assert re.fullmatch(r"pay_\d{6}", payment.ref)
    assert payment.status == PaymentStatus.SUCCEEDED
    assert (payment.invoice_ref, payment.amount, payment.currency) == (invoice.ref, 87_238, "USD")
    assert payment.failure_code is None
    paid = (await billing.get_invoices([invoice.ref]))[invoice.ref]
    assert (paid.status, paid.balance, paid.total) == ("PAID", 0, 87_238)


@pytest.mark.parametrize(
    ("token", "failure_code"),
    [("pm_card_declined", "card_declined"), ("pm_card_insufficient_funds", "insufficient_funds")],
)
async def test_a_declined_card_is_a_failed_payment_not_an_error(
    billing: LocalBillingProvider, count_rows: RowCounter, token: str, failure_code: str
) -> None:
    invoice = await _invoice(billing)

    payment = await billing.collect_payment(invoice.ref, token, idempotency_key="pay-1")

    assert (payment.status, payment.failure_code) == ("FAILED", failure_code)
    assert await count_rows(LedgerPayment) == 1
    assert (await billing.get_invoices([invoice.ref]))[invoice.ref] == invoice


async def test_an_unknown_token_is_rejected_and_records_nothing(
    billing: LocalBillingProvider, count_rows: RowCounter
) -> None:
    invoice = await _invoice(billing)

    with pytest.raises(ProviderRejected) as caught:
        await billing.collect_payment(invoice.ref, "pm_card_amex", idempotency_key="pay-1")

    assert caught.value.code == "invalid_payment_method"
    assert await count_rows(LedgerPayment) == 0
    assert (await billing.get_invoices([invoice.ref]))[invoice.ref] == invoice


def test_the_test_tokens_are_documented() -> None:
    assert dict(TEST_PAYMENT_METHODS) == {
        "pm_card_visa": None,
        "pm_card_mastercard": None,
        "pm_card_declined": "card_declined",
        "pm_card_insufficient_funds": "insufficient_funds",
    }


async def test_collect_payment_replays_and_charges_once(
    billing: LocalBillingProvider, count_rows: RowCounter
) -> None:
    invoice = await _invoice(billing)

    first = await billing.collect_payment(invoice.ref, "pm_card_visa", idempotency_key="pay-1")
    again = await billing.collect_payment(invoice.ref, "pm_card_visa", idempotency_key="pay-1")

    assert again == first
    assert await count_rows(LedgerPayment) == 1


async def test_a_replayed_decline_stays_declined(
    billing: LocalBillingProvider, count_rows: RowCounter
) -> None:
    invoice = await _invoice(billing)

    first = await billing.collect_payment(invoice.ref, "pm_card_declined", idempotency_key="p-1")
    again = await billing.collect_payment(invoice.ref, "pm_card_declined", idempotency_key="p-1")

    assert again == first
    assert await count_rows(LedgerPayment) == 1


async def test_a_new_attempt_after_a_decline_can_pay(
    billing: LocalBillingProvider, count_rows: RowCounter
) -> None:
    invoice = await _invoice(billing)
    await billing.collect_payment(invoice.ref, "pm_card_declined", idempotency_key="pay-1")

    payment = await billing.collect_payment(invoice.ref, "pm_card_visa", idempotency_key="pay-2")

    assert payment.status == "SUCCEEDED"
    assert await count_rows(LedgerPayment) == 2
    assert (await billing.get_invoices([invoice.ref]))[invoice.ref].status == "PAID"


async def test_a_paid_invoice_is_not_charged_again(
    billing: LocalBillingProvider, count_rows: RowCounter
) -> None:
    invoice = await _invoice(billing)
    await billing.collect_payment(invoice.ref, "pm_card_visa", idempotency_key="pay-1")

    with pytest.raises(ProviderRejected) as caught:
        await billing.collect_payment(invoice.ref, "pm_card_visa", idempotency_key="pay-2")

    assert caught.value.code == "invoice_not_open"
    assert await count_rows(LedgerPayment) == 1


async def test_collect_payment_on_an_unknown_invoice(billing: LocalBillingProvider) -> None:
    with pytest.raises(ProviderNotFound):
        await billing.collect_payment("inv_999999", "pm_card_visa", idempotency_key="pay-1")
