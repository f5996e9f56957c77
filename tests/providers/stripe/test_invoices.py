"""Invoices over real HTTP to the fake: the caller's lines as invoice items, Stripe's total
equal to their sum, zero totals paid, voids, replays and reused keys."""

from __future__ import annotations

from datetime import date

import pytest

from app.providers.billing import BillingAccountRecord, InvoiceStatus
from app.providers.billing.stripe import StripeBillingProvider
from app.providers.errors import ProviderNotFound, ProviderRejected
from tests.fakes.stripe import StripeFake
from tests.providers.conftest import NOW
from tests.providers.factories import (
    PREMIUM,
    TERM_END,
    TERM_START,
    invoice_line,
    new_account,
    new_invoice,
)

# An upgrade on 2026-07-02 as a quote prices it: the unused old plan credited, the new plan
# charged, both prorated to the term end (184 of 365 days), and a pack without a period.
CREDIT = invoice_line(description="Unused Premium, 10 seats", quantity=10, amount=-175_430)
UPGRADE = invoice_line(
    description="Ultimate, 10 seats",
    quantity=10,
    unit_amount=118_800,
    amount=598_882,
    product_code="ultimate",
)
PACK = invoice_line(
    description="Storage pack",
    quantity=1,
    unit_amount=6_000,
    amount=6_000,
    product_code="storage_10",
    period_start=None,
    period_end=None,
)


@pytest.fixture
async def account(stripe_billing: StripeBillingProvider) -> BillingAccountRecord:
    return await stripe_billing.create_account(
        new_account(payment_method="pm_card_visa"), idempotency_key="acct-1"
    )


async def test_quote_lines_become_an_invoice_whose_total_is_their_sum(
    stripe_billing: StripeBillingProvider, fake: StripeFake, account: BillingAccountRecord
) -> None:
    invoice = await stripe_billing.create_invoice(
        new_invoice(account.ref, lines=(CREDIT, UPGRADE, PACK)), idempotency_key="inv-1"
    )

    (stored,) = fake.objects("invoice")
    assert stored["total"] == invoice.total == -175_430 + 598_882 + 6_000 == 429_452
    assert (invoice.balance, invoice.status) == (429_452, InvoiceStatus.OPEN)
    assert invoice.lines == (CREDIT, UPGRADE, PACK)
    assert (invoice.issued_on, invoice.due_on) == (NOW.date(), date(2026, 1, 31))
    assert (stored["auto_advance"], stored["status"]) == (False, "open")
    assert [item["amount"] for item in fake.objects("invoiceitem")] == [-175_430, 598_882, 6_000]
    assert (await stripe_billing.get_invoices([invoice.ref]))[invoice.ref] == invoice


async def test_pending_invoice_items_stay_out(
    stripe_billing: StripeBillingProvider, fake: StripeFake, account: BillingAccountRecord
) -> None:
    fake.store.add(
        {
            "id": "ii_stray",
            "object": "invoiceitem",
            "customer": account.ref,
            "invoice": None,
            "amount": 999,
            "currency": "usd",
            "description": "stray",
            "metadata": {},
            "period": {"start": 0, "end": 0},
            "discountable": True,
        }
    )

    invoice = await stripe_billing.create_invoice(new_invoice(account.ref), idempotency_key="inv-1")

    assert invoice.total == invoice_line().amount
    assert fake.store.objects["ii_stray"]["invoice"] is None


async def test_a_zero_total_invoice_comes_out_paid(
    stripe_billing: StripeBillingProvider, account: BillingAccountRecord
) -> None:
    lines = (CREDIT, invoice_line(description="Back again", amount=175_430))

    invoice = await stripe_billing.create_invoice(
        new_invoice(account.ref, lines=lines), idempotency_key="inv-1"
    )

    assert (invoice.total, invoice.balance, invoice.status) == (0, 0, InvoiceStatus.PAID)


async def test_more_than_ten_lines_are_read_page_by_page(
    stripe_billing: StripeBillingProvider, account: BillingAccountRecord
) -> None:
    lines = tuple(invoice_line(description=f"Line {n}", amount=100 + n) for n in range(13))

    invoice = await stripe_billing.create_invoice(
        new_invoice(account.ref, lines=lines), idempotency_key="inv-1"
    )

    assert invoice.lines == lines
    assert invoice.total == sum(line.amount for line in lines)


async def test_a_replay_returns_the_first_invoice_and_writes_once(
    stripe_billing: StripeBillingProvider, fake: StripeFake, account: BillingAccountRecord
) -> None:
    request = new_invoice(account.ref, lines=(CREDIT, UPGRADE))
    first = await stripe_billing.create_invoice(request, idempotency_key="inv-1")

    again = await stripe_billing.create_invoice(request, idempotency_key="inv-1")

    assert again == first
    assert fake.executed("POST", "/v1/invoices") == 1
    assert fake.executed("POST", "/v1/invoiceitems") == 2
    assert fake.executed("POST", "/v1/invoices/*/finalize") == 1


async def test_the_key_reused_for_other_lines_is_refused(
    stripe_billing: StripeBillingProvider, fake: StripeFake, account: BillingAccountRecord
) -> None:
    await stripe_billing.create_invoice(new_invoice(account.ref), idempotency_key="inv-1")

    with pytest.raises(ProviderRejected) as refused:
        await stripe_billing.create_invoice(
            new_invoice(account.ref, lines=(UPGRADE,)), idempotency_key="inv-1"
        )

    assert refused.value.code == "idempotency_key_reused"
    assert len(fake.objects("invoice")) == len(fake.objects("invoiceitem")) == 1


async def test_bad_invoices_are_refused_before_any_write(
    stripe_billing: StripeBillingProvider, fake: StripeFake, account: BillingAccountRecord
) -> None:
    writes = len(fake.log)
    with pytest.raises(ProviderRejected) as negative:
        await stripe_billing.create_invoice(
            new_invoice(account.ref, lines=(CREDIT,)), idempotency_key="inv-1"
        )
    with pytest.raises(ProviderRejected) as currency:
        await stripe_billing.create_invoice(
            new_invoice(account.ref, currency="EUR"), idempotency_key="inv-3"
        )
    with pytest.raises(ProviderNotFound):
        await stripe_billing.create_invoice(new_invoice("cus_missing"), idempotency_key="inv-4")

    assert (negative.value.code, currency.value.code) == ("invalid_request", "currency_mismatch")
    assert len(fake.log) == writes + 2  # the two customer reads, nothing written
    assert fake.objects("invoice") == []


async def test_the_subscription_named_must_be_the_accounts(
    stripe_billing: StripeBillingProvider, fake: StripeFake, account: BillingAccountRecord
) -> None:
    other = await stripe_billing.create_account(new_account(), idempotency_key="acct-2")
    sub = await stripe_billing.create_subscription(
        other.ref, TERM_START, TERM_END, [PREMIUM], idempotency_key="sub-1"
    )

    with pytest.raises(ProviderRejected) as refused:
        await stripe_billing.create_invoice(
            new_invoice(account.ref, subscription_ref=sub.ref), idempotency_key="inv-1"
        )
    mine = await stripe_billing.create_invoice(
        new_invoice(other.ref, subscription_ref=sub.ref), idempotency_key="inv-2"
    )

    assert refused.value.code == "invalid_request"
    assert mine.subscription_ref == sub.ref
    assert fake.objects("invoice")[0]["parent"] is None  # not tied to the Stripe subscription


async def test_void_an_open_invoice_then_it_stays_void(
    stripe_billing: StripeBillingProvider, account: BillingAccountRecord
) -> None:
    invoice = await stripe_billing.create_invoice(new_invoice(account.ref), idempotency_key="i")

    voided = await stripe_billing.void_invoice(invoice.ref, idempotency_key="void-1")
    again = await stripe_billing.void_invoice(invoice.ref, idempotency_key="void-2")

    assert (voided.status, voided.balance, again) == (InvoiceStatus.VOID, invoice.total, voided)
    with pytest.raises(ProviderRejected) as refused:
        await stripe_billing.collect_payment(invoice.ref, "pm_card_visa", idempotency_key="p-1")
    assert refused.value.code == "invoice_not_open"


async def test_a_paid_invoice_is_not_voided(
    stripe_billing: StripeBillingProvider, account: BillingAccountRecord
) -> None:
    invoice = await stripe_billing.create_invoice(new_invoice(account.ref), idempotency_key="i")
    await stripe_billing.collect_payment(invoice.ref, "pm_card_visa", idempotency_key="pay-1")

    with pytest.raises(ProviderRejected) as refused:
        await stripe_billing.void_invoice(invoice.ref, idempotency_key="void-1")

    assert refused.value.code == "invoice_paid"
    assert (await stripe_billing.get_invoices([invoice.ref]))[invoice.ref].status == "PAID"


async def test_get_invoices_omits_unknown_refs(
    stripe_billing: StripeBillingProvider, account: BillingAccountRecord
) -> None:
    invoice = await stripe_billing.create_invoice(new_invoice(account.ref), idempotency_key="i")

    assert await stripe_billing.get_invoices(["in_missing", invoice.ref]) == {invoice.ref: invoice}
