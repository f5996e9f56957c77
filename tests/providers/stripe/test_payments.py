"""Collecting, listing and refunding payments over real HTTP to the fake: a decline is a
FAILED record, never an exception; refunds are bounded by what the charge has left."""

from __future__ import annotations

import pytest

from app.providers.billing import InvoiceRecord, InvoiceStatus, PaymentStatus
from app.providers.billing.stripe import StripeBillingProvider
from app.providers.errors import ProviderNotFound, ProviderRejected
from tests.fakes.stripe import StripeFake
from tests.providers.factories import invoice_line, new_account, new_invoice

AMOUNT = invoice_line().amount


async def _open_invoice(
    billing: StripeBillingProvider, card: str = "pm_card_visa"
) -> InvoiceRecord:
    account = await billing.create_account(new_account(payment_method=card), idempotency_key="a")
    return await billing.create_invoice(new_invoice(account.ref), idempotency_key="inv-1")


async def test_collect_pays_the_invoice_with_the_token_on_file(
    stripe_billing: StripeBillingProvider, fake: StripeFake
) -> None:
    invoice = await _open_invoice(stripe_billing)

    payment = await stripe_billing.collect_payment(
        invoice.ref, "pm_card_visa", idempotency_key="pay-1"
    )

    (charge,) = fake.objects("charge")
    assert payment.ref == charge["id"]
    assert (payment.invoice_ref, payment.amount, payment.currency) == (invoice.ref, AMOUNT, "USD")
    assert (payment.status, payment.failure_code) == (PaymentStatus.SUCCEEDED, None)
    paid = (await stripe_billing.get_invoices([invoice.ref]))[invoice.ref]
    assert (paid.status, paid.balance) == (InvoiceStatus.PAID, 0)
    assert fake.executed("POST", "/v1/payment_methods/*/attach") == 1  # only the account's


async def test_a_decline_at_charge_is_a_failed_payment_and_the_invoice_stays_open(
    stripe_billing: StripeBillingProvider, fake: StripeFake
) -> None:
    invoice = await _open_invoice(stripe_billing, "pm_card_chargeCustomerFail")

    payment = await stripe_billing.collect_payment(
        invoice.ref, "pm_card_chargeCustomerFail", idempotency_key="pay-1"
    )

    (charge,) = fake.objects("charge")
    assert (payment.ref, payment.amount) == (charge["id"], AMOUNT)
    assert (payment.status, payment.failure_code) == (PaymentStatus.FAILED, "generic_decline")
    still = (await stripe_billing.get_invoices([invoice.ref]))[invoice.ref]
    assert (still.status, still.balance) == (InvoiceStatus.OPEN, AMOUNT)
    assert await stripe_billing.get_invoice_payments([invoice.ref]) == {invoice.ref: (payment,)}


async def test_a_replayed_decline_is_the_same_record_and_another_card_then_pays(
    stripe_billing: StripeBillingProvider, fake: StripeFake
) -> None:
    invoice = await _open_invoice(stripe_billing, "pm_card_chargeCustomerFail")
    failed = await stripe_billing.collect_payment(
        invoice.ref, "pm_card_chargeCustomerFail", idempotency_key="pay-1"
    )

    again = await stripe_billing.collect_payment(
        invoice.ref, "pm_card_chargeCustomerFail", idempotency_key="pay-1"
    )
    paid = await stripe_billing.collect_payment(
        invoice.ref, "pm_card_mastercard", idempotency_key="pay-2"
    )

    assert again == failed
    assert fake.executed("POST", "/v1/invoices/*/pay") == 2
    assert paid.status == PaymentStatus.SUCCEEDED
    assert await stripe_billing.get_invoice_payments([invoice.ref, "in_missing"]) == {
        invoice.ref: (failed, paid)
    }


async def test_a_replayed_charge_returns_the_first_payment_and_charges_once(
    stripe_billing: StripeBillingProvider, fake: StripeFake
) -> None:
    invoice = await _open_invoice(stripe_billing)
    first = await stripe_billing.collect_payment(invoice.ref, "pm_card_visa", idempotency_key="p")

    again = await stripe_billing.collect_payment(invoice.ref, "pm_card_visa", idempotency_key="p")

    assert again == first
    assert len(fake.objects("charge")) == fake.executed("POST", "/v1/invoices/*/pay") == 1


async def test_collect_on_a_paid_invoice_or_with_a_reused_key_is_refused(
    stripe_billing: StripeBillingProvider,
) -> None:
    invoice = await _open_invoice(stripe_billing)
    await stripe_billing.collect_payment(invoice.ref, "pm_card_visa", idempotency_key="pay-1")

    with pytest.raises(ProviderRejected) as paid:
        await stripe_billing.collect_payment(invoice.ref, "pm_card_visa", idempotency_key="pay-2")
    with pytest.raises(ProviderRejected) as reused:
        await stripe_billing.collect_payment(
            invoice.ref, "pm_card_mastercard", idempotency_key="pay-1"
        )

    assert (paid.value.code, reused.value.code) == ("invoice_not_open", "idempotency_key_reused")


async def test_collect_on_an_unknown_invoice_is_not_found(
    stripe_billing: StripeBillingProvider,
) -> None:
    with pytest.raises(ProviderNotFound):
        await stripe_billing.collect_payment("in_missing", "pm_card_visa", idempotency_key="p")


async def test_invoices_without_payments_list_none(stripe_billing: StripeBillingProvider) -> None:
    invoice = await _open_invoice(stripe_billing)

    assert await stripe_billing.get_invoice_payments([invoice.ref]) == {invoice.ref: ()}


async def test_refunds_in_parts_up_to_the_payment(
    stripe_billing: StripeBillingProvider, fake: StripeFake
) -> None:
    invoice = await _open_invoice(stripe_billing)
    payment = await stripe_billing.collect_payment(invoice.ref, "pm_card_visa", idempotency_key="p")

    part = await stripe_billing.refund_payment(payment.ref, 10_000, idempotency_key="re-1")
    replay = await stripe_billing.refund_payment(payment.ref, 10_000, idempotency_key="re-1")
    rest = await stripe_billing.refund_payment(payment.ref, AMOUNT - 10_000, idempotency_key="re-2")
    with pytest.raises(ProviderRejected) as beyond:
        await stripe_billing.refund_payment(payment.ref, 1, idempotency_key="re-3")

    assert (part.payment_ref, part.invoice_ref, part.amount, part.currency) == (
        payment.ref,
        invoice.ref,
        10_000,
        "USD",
    )
    assert replay == part
    assert rest.amount == AMOUNT - 10_000
    assert beyond.value.code == "refund_exceeds_payment"
    assert [refund["amount"] for refund in fake.objects("refund")] == [10_000, AMOUNT - 10_000]
    still = (await stripe_billing.get_invoices([invoice.ref]))[invoice.ref]
    assert still.status == InvoiceStatus.PAID


async def test_a_failed_payment_is_not_refundable(stripe_billing: StripeBillingProvider) -> None:
    invoice = await _open_invoice(stripe_billing, "pm_card_chargeCustomerFail")
    failed = await stripe_billing.collect_payment(
        invoice.ref, "pm_card_chargeCustomerFail", idempotency_key="p"
    )

    with pytest.raises(ProviderRejected) as refused:
        await stripe_billing.refund_payment(failed.ref, 100, idempotency_key="re-1")
    with pytest.raises(ProviderRejected) as zero:
        await stripe_billing.refund_payment(failed.ref, 0, idempotency_key="re-2")

    assert (refused.value.code, zero.value.code) == ("payment_not_refundable", "invalid_request")
