"""What the invoice PDF says, read back from the PDF a customer downloads: every mandatory
field with its exact value, descriptions whole, pages numbered with the table's headings
repeated, and totals equal to the invoice's."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.clock import FixedClock
from app.config import Settings
from app.db.tables import BillingAccount, Invoice, InvoiceLine, Payment, Subscription
from app.domain.enums import InvoiceLineKind, InvoiceStatus
from tests.api.orders_support import acme_world, at, invoices_of, place, quote
from tests.support import factories as f
from tests.support.graphql import Api, user_token
from tests.support.pdf_text import pdf_pages

SELLER = (
    "From (seller) Fulfillment Demo Vendor B.V. Herengracht 500 1017 CB Amsterdam Netherlands "
    "VAT id: NL000099998B57 Registration no.: KvK 00000000 billing@fulfillment.invalid"
)
HEADINGS = "Description Qty Unit price Amount"
ADDRESS = {
    "billing_address_line1": "1 Test Street",
    "billing_address_line2": "Floor 2",
    "billing_city": "Testville",
    "billing_postal_code": "12345",
    "billing_region": "CA",
    "billing_country": "US",
}


async def _download(api: Api, token: str, number: str) -> list[str]:
    response = await api.client.get(
        f"/invoices/{number}.pdf", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200, response.text
    return pdf_pages(response.content)


def _totals(subtotal: str, total: str, paid: str, due: str, tax: str = "$0.00") -> str:
    return (
        f"Subtotal {subtotal} Discount $0.00 Tax {tax} Total (USD) {total} "
        f"Amount paid {paid} Balance due {due}"
    )


async def _ordered(
    api: Api, db: AsyncSession, settings: Settings, clock: FixedClock, day: date, action: dict
) -> tuple[dict, Invoice, Subscription]:
    world = await acme_world(db, settings)
    account = await db.get(BillingAccount, world["sub"].billing_account_id)
    assert account is not None
    for field, value in ADDRESS.items():
        setattr(account, field, value)
    clock.set(at(day))
    quoted = await quote(api, world["owner"], subscriptionId=world["id"], actions=[action])
    placed = await place(api, world["owner"], quoted["token"])
    assert placed["__typename"] == "OrderPlacePayload", placed
    [invoice] = await invoices_of(db, world["sub"].id)
    return world, invoice, world["sub"]


async def test_a_proration_invoice_paid_by_card_carries_every_mandatory_field(
    api: Api, db: AsyncSession, settings: Settings, clock: FixedClock
) -> None:
    world, invoice, sub = await _ordered(
        api, db, settings, clock, date(2026, 7, 2), {"addSeats": {"seats": 5}}
    )
    [payment] = (
        await db.scalars(sa.select(Payment).where(col(Payment.invoice_id) == invoice.id))
    ).all()
    [line] = (
        await db.scalars(sa.select(InvoiceLine).where(col(InvoiceLine.invoice_id) == invoice.id))
    ).all()

    [page] = await _download(api, world["owner"], invoice.number)

    paid_on = payment.created_at.date().isoformat()
    assert page.startswith(f"Invoice {invoice.number} {SELLER} Bill to (buyer) Acme ")
    assert (
        "Bill to (buyer) Acme 1 Test Street Floor 2 12345 Testville, CA US VAT id: none given "
        "Attn: Acme bill@example.com"
    ) in page
    assert (
        f"Invoice number {invoice.number} Issue date 2026-07-02 Due date 2026-07-02 "
        f"Payment terms Paid by card on {paid_on} Currency USD Subscription {sub.number} "
        "Status PAID"
    ) in page
    assert (
        f"{HEADINGS} {line.description} Service period 2026-07-02 to 2027-01-01 5 $348.00 $872.38"
    ) in page
    assert page.endswith(
        _totals("$872.38", "$872.38", "$872.38", "$0.00") + f" Invoice {invoice.number} Page 1 of 1"
    )
    assert (invoice.total, invoice.amount_paid) == (87_238, 87_238)


async def test_a_renewal_invoice_states_the_new_term_as_its_service_period(
    api: Api, db: AsyncSession, settings: Settings, clock: FixedClock
) -> None:
    world, invoice, sub = await _ordered(
        api, db, settings, clock, date(2026, 12, 20), {"renew": {"seats": 12}}
    )

    [page] = await _download(api, world["owner"], invoice.number)

    assert "Service period 2027-01-01 to 2028-01-01 12 $348.00 $4,176.00" in page
    assert _totals("$4,176.00", "$4,176.00", "$4,176.00", "$0.00") in page
    assert f"Subscription {sub.number}" in page


async def test_an_open_invoice_shows_net_terms_and_its_balance_due(
    api: Api, db: AsyncSession, settings: Settings
) -> None:
    customer = await f.customer(db)
    owner = user_token(settings, await f.user(db, member_of=customer))
    invoice = await f.invoice(
        db, await f.subscription(db, customer), amounts=(100_001, 250), amount_paid=50_000
    )

    [page] = await _download(api, owner, invoice.number)

    assert "Issue date 2026-01-01 Due date 2026-01-31 Payment terms Net 30 Currency USD" in page
    assert "Line 1 1 $1,000.01 $1,000.01 Line 2 1 $2.50 $2.50" in page
    assert _totals("$1,002.51", "$1,002.51", "$500.00", "$502.51") in page
    assert "Service period" not in page  # lines without a period (one-time) state none


async def test_sixty_long_lines_wrap_whole_and_flow_over_numbered_pages(
    api: Api, db: AsyncSession, settings: Settings
) -> None:
    customer = await f.customer(db)
    owner = user_token(settings, await f.user(db, member_of=customer))
    invoice = await f.invoice(db, await f.subscription(db, customer), amounts=())
    words = "Premium seats prorated to the end of the current subscription term"
    for position in range(1, 61):
        db.add(
            InvoiceLine(
                invoice_id=invoice.id or 0,
                position=position,
                kind=InvoiceLineKind.CHARGE,
                description=f"{words} (line {position}) {words}",
                quantity=position,
                unit_amount=101,
                amount=101 * position,
                period_start=date(2026, 7, 2),
                period_end=date(2027, 1, 1),
            )
        )
    total = 101 * sum(range(1, 61))
    invoice.subtotal = invoice.total = total
    await db.flush()

    pages = await _download(api, owner, invoice.number)

    count = len(pages)
    assert count >= 3
    for number, page in enumerate(pages, start=1):
        assert page.endswith(f"Invoice {invoice.number} Page {number} of {count}")
        assert HEADINGS in page
    text = " ".join(pages)
    for position in range(1, 61):
        assert (
            f"{words} (line {position}) {words} Service period 2026-07-02 to 2027-01-01 "
            f"{position} $1.01 ${101 * position / 100:,.2f}"
        ) in text
    assert _totals("$1,848.30", "$1,848.30", "$0.00", "$1,848.30") in pages[-1]
    assert total == 184_830


async def test_a_unicode_buyer_prints_as_written_and_cjk_as_code_points(
    api: Api, db: AsyncSession, settings: Settings
) -> None:
    customer = await f.customer(db, name="Zoë Łukasiewicz GmbH")
    owner = user_token(settings, await f.user(db, member_of=customer))
    account = await f.billing_account(
        db,
        customer,
        currency="EUR",
        sold_to_name="Zoë Łukasiewicz GmbH 株式会社",
        tax_id="DE123456789",
        billing_address_line1="Friedrichstraße 50",
        billing_city="Berlin",
        billing_postal_code="10117",
        billing_country="DE",
    )
    sub = await f.subscription(db, customer, account=account, currency="EUR")
    invoice = await f.invoice(
        db, sub, amounts=(123_456,), currency="EUR", status=InvoiceStatus.OPEN
    )

    [page] = await _download(api, owner, invoice.number)

    assert (
        "Bill to (buyer) Zoë Łukasiewicz GmbH [U+682A][U+5F0F][U+4F1A][U+793E] "
        "Friedrichstraße 50 10117 Berlin DE VAT id: DE123456789"
    ) in page
    assert "Line 1 1 €1,234.56 €1,234.56" in page
    assert "Total (EUR) €1,234.56" in page
    assert "?" not in page
