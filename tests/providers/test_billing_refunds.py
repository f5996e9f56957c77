"""Voiding and refunding at the local billing provider: what a failed order needs to give
the money back, idempotent per key, refused with typed codes otherwise."""

from __future__ import annotations

import re

import pytest

from app.db.tables.local_providers import LedgerRefund
from app.providers.billing import InvoiceRecord, LocalBillingProvider, PaymentRecord
from app.providers.errors import ProviderNotFound, ProviderRejected
from tests.providers.conftest import RowCounter
from tests.providers.factories import new_account, new_invoice


async def _invoice(billing: LocalBillingProvider) -> InvoiceRecord:
    account = await billing.create_account(new_account(), idempotency_key="acct-1")
    return await billing.create_invoice(new_invoice(account.ref), idempotency_key="inv-1")


async def _paid(billing: LocalBillingProvider) -> tuple[InvoiceRecord, PaymentRecord]:
    invoice = await _invoice(billing)
    payment = await billing.collect_payment(invoice.ref, "pm_card_visa", idempotency_key="pay-1")
    return invoice, payment


async def test_an_open_invoice_is_voided_and_never_collected(
    billing: LocalBillingProvider,
) -> None:
    invoice = await _invoice(billing)

    voided = await billing.void_invoice(invoice.ref, idempotency_key="void-1")
    again = await billing.void_invoice(invoice.ref, idempotency_key="void-2")

    assert (voided.status, voided.balance, voided.total) == ("VOID", invoice.total, invoice.total)
    assert again == voided
    with pytest.raises(ProviderRejected) as caught:
        await billing.collect_payment(invoice.ref, "pm_card_visa", idempotency_key="pay-1")
    assert caught.value.code == "invoice_not_open"
    assert (await billing.get_invoice_payments([invoice.ref])) == {invoice.ref: ()}


async def test_a_paid_invoice_is_not_voided(billing: LocalBillingProvider) -> None:
    invoice, _ = await _paid(billing)

    with pytest.raises(ProviderRejected) as caught:
        await billing.void_invoice(invoice.ref, idempotency_key="void-1")

    assert caught.value.code == "invoice_paid"
    assert (await billing.get_invoices([invoice.ref]))[invoice.ref].status == "PAID"


async def test_a_payment_is_refunded_once_per_key(
    billing: LocalBillingProvider, count_rows: RowCounter
) -> None:
    invoice, payment = await _paid(billing)

    refund = await billing.refund_payment(payment.ref, payment.amount, idempotency_key="re-1")
    again = await billing.refund_payment(payment.ref, payment.amount, idempotency_key="re-1")

    assert re.fullmatch(r"re_\d{6}", refund.ref)
    assert (refund.payment_ref, refund.invoice_ref, refund.amount, refund.currency) == (
        payment.ref,
        invoice.ref,
        invoice.total,
        "USD",
    )
    assert refund.status == "SUCCEEDED"
    assert again == refund
    assert await count_rows(LedgerRefund) == 1
    assert (await billing.get_invoice_payments([invoice.ref]))[invoice.ref] == (payment,)


async def test_no_more_than_the_payment_is_given_back(
    billing: LocalBillingProvider, count_rows: RowCounter
) -> None:
    _, payment = await _paid(billing)
    await billing.refund_payment(payment.ref, payment.amount - 100, idempotency_key="re-1")

    with pytest.raises(ProviderRejected) as caught:
        await billing.refund_payment(payment.ref, 101, idempotency_key="re-2")
    last = await billing.refund_payment(payment.ref, 100, idempotency_key="re-3")

    assert caught.value.code == "refund_exceeds_payment"
    assert last.amount == 100
    assert await count_rows(LedgerRefund) == 2


async def test_a_failed_payment_is_not_refundable(billing: LocalBillingProvider) -> None:
    invoice = await _invoice(billing)
    declined = await billing.collect_payment(
        invoice.ref, "pm_card_declined", idempotency_key="pay-1"
    )

    with pytest.raises(ProviderRejected) as caught:
        await billing.refund_payment(declined.ref, declined.amount, idempotency_key="re-1")

    assert caught.value.code == "payment_not_refundable"


@pytest.mark.parametrize("amount", [0, -5])
async def test_a_refund_amount_must_be_positive(
    billing: LocalBillingProvider, count_rows: RowCounter, amount: int
) -> None:
    _, payment = await _paid(billing)

    with pytest.raises(ProviderRejected) as caught:
        await billing.refund_payment(payment.ref, amount, idempotency_key="re-1")

    assert caught.value.code == "invalid_request"
    assert await count_rows(LedgerRefund) == 0


async def test_unknown_refs(billing: LocalBillingProvider) -> None:
    with pytest.raises(ProviderNotFound):
        await billing.void_invoice("inv_999999", idempotency_key="void-1")
    with pytest.raises(ProviderNotFound):
        await billing.refund_payment("pay_999999", 1, idempotency_key="re-1")
    assert await billing.get_invoice_payments(["inv_999999"]) == {}


async def test_a_key_is_not_reused_for_another_refund(billing: LocalBillingProvider) -> None:
    _, payment = await _paid(billing)
    await billing.refund_payment(payment.ref, 100, idempotency_key="re-1")

    with pytest.raises(ProviderRejected) as caught:
        await billing.refund_payment(payment.ref, 200, idempotency_key="re-1")

    assert caught.value.code == "idempotency_key_reused"
