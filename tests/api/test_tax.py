"""Tax over the API (docs/tax.md): each line's tax on the quote, the same on the invoice and
the provider's copy, to the cent; a buyer without a country sees exactly today's figures."""

from __future__ import annotations

from datetime import date
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from app.clock import FixedClock
from app.config import Settings
from app.db.tables import BillingAccount, Invoice, InvoiceLine, LedgerInvoice, Order, Payment
from app.domain.enums import OrderStatus, TaxTreatment
from app.domain.tax import REVERSE_CHARGE_NOTE
from app.main import create_app
from app.providers.registry import build_providers
from app.runtime import Runtime, build_runtime
from tests.api.orders_support import acme_world, at, counts, invoices_of
from tests.support.graphql import Api
from tests.support.pdf_text import pdf_pages

QUOTE = """mutation($input: OrderInput!) { orderQuote(input: $input) {
  __typename
  ... on Quote { token subtotal { amount } discount { amount } tax { amount } total { amount }
    lines { kind amount { amount }
            tax { treatment ratePercent amount { amount formatted } note } } }
  ... on UserError { code message } } }"""
PLACE = """mutation($token: String!, $key: String!) {
  orderPlace(quoteToken: $token, idempotencyKey: $key) {
  __typename
  ... on OrderPlacePayload { order { status total { amount }
      invoice { number subtotal { amount } tax { amount } total { amount } amountPaid { amount }
        lines { amount { amount } tax { treatment ratePercent amount { amount } note } } } } }
  ... on UserError { code message } } }"""
ADD_FIVE = {"addSeats": {"seats": 5}}  # docs/domain.md section 9, example 1: 87 238 on 2026-07-02
UPGRADE = {"changePlan": {"plan": "ultimate"}}  # example 2: -262 192 + 895 068 on 2026-04-01
UNTAXED = {"treatment": "NOT_TAXED", "ratePercent": "0", "amount": {"amount": "0"}, "note": None}
DE_VAT = "VAT 19% (DE)"


def _tax(treatment: str, percent: str, amount: int, note: str | None) -> dict[str, Any]:
    return {"treatment": treatment, "ratePercent": percent, "amount": {"amount": str(amount)},
            "note": note}  # fmt: skip


def _untimed(tax: dict[str, Any]) -> dict[str, Any]:
    """A quote line's tax without `formatted` (the invoice's document does not ask it)."""
    return {**tax, "amount": {"amount": tax["amount"]["amount"]}}


async def _world(
    db: AsyncSession, settings: Settings, clock: FixedClock, day: date, **account: Any
) -> dict[str, Any]:
    world = await acme_world(db, settings)
    row = await db.get(BillingAccount, world["sub"].billing_account_id)
    assert row is not None
    for field, value in account.items():
        setattr(row, field, value)
    await db.flush()
    world["account"] = row
    clock.set(at(day))
    return world


async def _quote(api: Api, world: dict[str, Any], action: dict[str, Any]) -> dict[str, Any]:
    data = await api.data(
        QUOTE, {"input": {"subscriptionId": world["id"], "actions": [action]}}, token=world["owner"]
    )
    result: dict[str, Any] = data["orderQuote"]
    assert result["__typename"] == "Quote", result
    return result


async def _place(api: Api, world: dict[str, Any], token: str) -> dict[str, Any]:
    data = await api.data(PLACE, {"token": token, "key": "tax-1"}, token=world["owner"])
    result: dict[str, Any] = data["orderPlace"]
    return result


async def _provider_lines(db: AsyncSession, invoice_number: str) -> list[tuple[str, int]]:
    invoice = (
        await db.scalars(sa.select(Invoice).where(col(Invoice.number) == invoice_number))
    ).one()
    ledger = (
        await db.scalars(
            sa.select(LedgerInvoice).where(col(LedgerInvoice.ref) == invoice.provider_ref)
        )
    ).one()
    return [(line["description"], line["amount"]) for line in ledger.lines]


def _amounts(quote: dict[str, Any]) -> tuple[str, ...]:
    return tuple(quote[k]["amount"] for k in ("subtotal", "discount", "tax", "total"))


async def test_a_buyer_without_a_country_sees_exactly_todays_figures(
    api: Api, db: AsyncSession, settings: Settings, clock: FixedClock
) -> None:
    world = await _world(db, settings, clock, date(2026, 7, 2), tax_id="DE123456789")
    quoted = await _quote(api, world, ADD_FIVE)
    assert _amounts(quoted) == ("87238", "0", "0", "87238")
    assert [line["tax"] for line in quoted["lines"]] == [
        {**UNTAXED, "amount": {"amount": "0", "formatted": "$0.00"}}
    ]

    placed = await _place(api, world, quoted["token"])

    invoice = placed["invoice"] if "invoice" in placed else placed["order"]["invoice"]
    assert (invoice["subtotal"], invoice["tax"], invoice["total"], invoice["amountPaid"]) == (
        {"amount": "87238"}, {"amount": "0"}, {"amount": "87238"}, {"amount": "87238"},
    )  # fmt: skip
    assert [line["tax"] for line in invoice["lines"]] == [UNTAXED]
    assert [amount for _, amount in await _provider_lines(db, invoice["number"])] == [87_238]


async def test_an_eu_consumer_pays_vat_on_the_quote_the_invoice_and_the_charge_alike(
    api: Api, db: AsyncSession, settings: Settings, clock: FixedClock
) -> None:
    world = await _world(db, settings, clock, date(2026, 7, 2), billing_country="DE")
    quoted = await _quote(api, world, ADD_FIVE)
    # 87 238 x 19 % = 16 575.22 -> 16 575
    assert _amounts(quoted) == ("87238", "0", "16575", "103813")
    [line] = quoted["lines"]
    assert line["tax"] == {**_tax("VAT", "19", 16_575, DE_VAT),
                           "amount": {"amount": "16575", "formatted": "$165.75"}}  # fmt: skip

    placed = await _place(api, world, quoted["token"])

    assert placed["__typename"] == "OrderPlacePayload", placed
    invoice = placed["order"]["invoice"]
    assert placed["order"]["total"] == {"amount": "103813"}
    assert (invoice["subtotal"], invoice["tax"], invoice["total"], invoice["amountPaid"]) == (
        {"amount": "87238"}, {"amount": "16575"}, {"amount": "103813"}, {"amount": "103813"},
    )  # fmt: skip
    assert [entry["tax"] for entry in invoice["lines"]] == [_untimed(line["tax"])]
    [row] = (await db.scalars(sa.select(InvoiceLine))).all()
    assert (row.tax_treatment, row.tax_rate_ppm, row.tax_amount, row.tax_note) == (
        TaxTreatment.VAT, 190_000, 16_575, DE_VAT,
    )  # fmt: skip
    # Tax computed here, sent as one line: the provider's invoice is our total, and so the charge.
    provider = await _provider_lines(db, invoice["number"])
    assert [amount for _, amount in provider] == [87_238, 16_575]
    assert provider[1][0] == DE_VAT
    [payment] = (await db.scalars(sa.select(Payment))).all()
    assert payment.amount == 103_813


async def test_the_tax_is_the_sum_of_the_rounded_line_taxes(
    api: Api, db: AsyncSession, settings: Settings, clock: FixedClock
) -> None:
    world = await _world(db, settings, clock, date(2026, 4, 1), billing_country="DE")
    quoted = await _quote(api, world, UPGRADE)
    # -262 192 x 19 % = -49 816.48 -> -49 816; 895 068 x 19 % = 170 062.92 -> 170 063;
    # 120 247 (19 % of the net 632 876 would be 120 246: the lines decide).
    pairs = [
        (line["amount"]["amount"], line["tax"]["amount"]["amount"]) for line in quoted["lines"]
    ]
    assert pairs == [("-262192", "-49816"), ("895068", "170063")]
    assert _amounts(quoted) == ("632876", "0", "120247", "753123")

    placed = await _place(api, world, quoted["token"])

    invoice = placed["order"]["invoice"]
    assert (invoice["tax"], invoice["total"]) == ({"amount": "120247"}, {"amount": "753123"})
    assert [line["tax"]["amount"]["amount"] for line in invoice["lines"]] == ["-49816", "170063"]


async def test_a_business_in_another_member_state_is_reverse_charged(
    api: Api, db: AsyncSession, settings: Settings, clock: FixedClock
) -> None:
    world = await _world(
        db, settings, clock, date(2026, 7, 2), billing_country="FR", tax_id="FR AB 123456789"
    )
    quoted = await _quote(api, world, ADD_FIVE)
    note = "Reverse charge; buyer VAT id FRAB123456789"
    assert _amounts(quoted) == ("87238", "0", "0", "87238")
    assert [_untimed(line["tax"]) for line in quoted["lines"]] == [
        _tax("REVERSE_CHARGE", "0", 0, note)
    ]

    placed = await _place(api, world, quoted["token"])

    invoice = placed["order"]["invoice"]
    assert (invoice["tax"], invoice["total"]) == ({"amount": "0"}, {"amount": "87238"})
    assert [line["tax"] for line in invoice["lines"]] == [_tax("REVERSE_CHARGE", "0", 0, note)]
    assert [amount for _, amount in await _provider_lines(db, invoice["number"])] == [87_238]
    response = await api.client.get(
        f"/invoices/{invoice['number']}.pdf", headers={"Authorization": f"Bearer {world['owner']}"}
    )
    [page] = pdf_pages(response.content)
    assert "Reverse charge, VAT 0%" in page
    assert "Tax $0.00 Total (USD) $872.38" in page
    assert f"{REVERSE_CHARGE_NOTE}. Buyer VAT id: FRAB123456789" in page


async def test_a_business_in_the_sellers_own_country_pays_domestic_vat(
    api: Api, db: AsyncSession, settings: Settings, clock: FixedClock
) -> None:
    world = await _world(
        db, settings, clock, date(2026, 7, 2), billing_country="NL", tax_id="NL123456789B01"
    )
    quoted = await _quote(api, world, ADD_FIVE)
    # 87 238 x 21 % = 18 319.98 -> 18 320
    assert _amounts(quoted) == ("87238", "0", "18320", "105558")
    assert [line["tax"]["note"] for line in quoted["lines"]] == ["VAT 21% (NL)"]


async def test_the_vat_invoice_pdf_prints_each_lines_tax_and_the_rate_in_the_totals(
    api: Api, db: AsyncSession, settings: Settings, clock: FixedClock
) -> None:
    world = await _world(db, settings, clock, date(2026, 7, 2), billing_country="DE")
    placed = await _place(api, world, (await _quote(api, world, ADD_FIVE))["token"])
    number = placed["order"]["invoice"]["number"]

    response = await api.client.get(
        f"/invoices/{number}.pdf", headers={"Authorization": f"Bearer {world['owner']}"}
    )

    [page] = pdf_pages(response.content)
    assert "VAT 19% (DE): $165.75" in page
    assert (
        "Subtotal $872.38 Discount $0.00 Tax (VAT 19% (DE)) $165.75 Total (USD) $1,038.13 "
        "Amount paid $1,038.13 Balance due $0.00"
    ) in page


async def test_a_quote_whose_buyer_moved_country_is_stale_and_changes_nothing(
    api: Api, db: AsyncSession, settings: Settings, clock: FixedClock
) -> None:
    world = await _world(db, settings, clock, date(2026, 7, 2), billing_country="DE")
    quoted = await _quote(api, world, ADD_FIVE)
    world["account"].billing_country = "FR"  # 20 % now: the quoted 19 % no longer holds
    await db.flush()
    before = await counts(db)

    placed = await _place(api, world, quoted["token"])

    assert (placed["__typename"], placed["code"]) == ("QuoteError", "QUOTE_STALE")
    # The order is recorded FAILED (as any stale quote's); no invoice, payment or charge.
    assert await counts(db) == {**before, "order": before["order"] + 1}
    [order] = (await db.scalars(sa.select(Order))).all()
    assert order.status is OrderStatus.FAILED
    assert await invoices_of(db, world["sub"].id) == []


def _runtime_with(
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    clock: FixedClock,
    **changes: Any,
) -> Runtime:
    changed = settings.model_copy(update=changes)
    providers = build_providers(changed, sessions, clock)
    return build_runtime(changed, sessions=sessions, clock=clock, providers=providers)


async def _quote_on(runtime: Runtime, world: dict[str, Any]) -> dict[str, Any]:
    transport = httpx.ASGITransport(app=create_app(runtime=runtime))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        return await _quote(Api(client), world, ADD_FIVE)


async def test_us_sales_tax_applies_only_where_the_operator_turned_it_on(
    api: Api,
    db: AsyncSession,
    settings: Settings,
    clock: FixedClock,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    world = await _world(
        db, settings, clock, date(2026, 7, 2), billing_country="US", billing_region="CA"
    )
    assert _amounts(await _quote(api, world, ADD_FIVE)) == ("87238", "0", "0", "87238")

    on = _runtime_with(settings, session_factory, clock, tax_us_state_rates="CA=7.25,TX=6.25")
    quoted = await _quote_on(on, world)

    # 87 238 x 7.25 % = 6 324.755 -> 6 325
    assert _amounts(quoted) == ("87238", "0", "6325", "93563")
    assert [_untimed(line["tax"]) for line in quoted["lines"]] == [
        _tax("SALES_TAX", "7.25", 6_325, "Sales tax 7.25% (US-CA)")
    ]


async def test_tax_provider_none_taxes_nobody(
    db: AsyncSession,
    settings: Settings,
    clock: FixedClock,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    world = await _world(db, settings, clock, date(2026, 7, 2), billing_country="DE")
    quoted = await _quote_on(
        _runtime_with(settings, session_factory, clock, tax_provider="none"), world
    )
    assert _amounts(quoted) == ("87238", "0", "0", "87238")
    assert [line["tax"]["treatment"] for line in quoted["lines"]] == ["NOT_TAXED"]


def test_an_unknown_tax_provider_is_refused_at_start_up(
    settings: Settings, session_factory: async_sessionmaker[AsyncSession], clock: FixedClock
) -> None:
    with pytest.raises(
        ValueError, match="unknown tax_provider 'avalara'; valid choices: local, none"
    ):
        _runtime_with(settings, session_factory, clock, tax_provider="avalara")


async def test_the_largest_order_taxed_per_line_still_fits_its_token_and_places(
    api: Api, db: AsyncSession, settings: Settings, clock: FixedClock
) -> None:
    world = await _world(
        db, settings, clock, date(2026, 4, 1), billing_country="FR", tax_id="FRAB123456789"
    )
    actions = [
        *[{"addSeats": {"seats": 1}}] * 3,
        {"addAddOn": {"addOn": "duo_pro", "seats": 2}},
        UPGRADE,
        {"addAddOn": {"addOn": "duo_enterprise", "seats": 2}},
        {"buyPack": {"pack": "storage_10gib", "quantity": 1}},
        {"buyPack": {"pack": "compute_minutes_1000", "quantity": 1}},
        *[{"addSeats": {"seats": 1}}] * 2,
    ]
    data = await api.data(
        QUOTE, {"input": {"subscriptionId": world["id"], "actions": actions}}, token=world["owner"]
    )
    quoted = data["orderQuote"]
    assert quoted["__typename"] == "Quote", quoted
    assert len(quoted["token"]) < 16 * 1024  # the quoteToken argument's limit
    assert {line["tax"]["treatment"] for line in quoted["lines"]} == {"REVERSE_CHARGE"}
    assert quoted["tax"] == {"amount": "0"}

    placed = await _place(api, world, quoted["token"])

    assert placed["__typename"] == "OrderPlacePayload", placed
    assert placed["order"]["invoice"]["total"] == quoted["total"]
