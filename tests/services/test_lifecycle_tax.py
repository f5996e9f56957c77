"""Tax on the invoices the lifecycle jobs write (renewal, quarterly reconciliation): each
line taxed for the paying account, the invoice's tax their sum, and the provider charged
the taxed total (docs/tax.md)."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from app.clock import FixedClock
from app.config import Settings
from app.db.tables import BillingAccount, InvoiceLine, LedgerInvoice, Subscription
from app.domain.enums import ReconciliationMode, TaxTreatment
from app.providers.registry import build_providers
from app.runtime import Runtime, build_runtime
from tests.services.lifecycle_support import at, invoices_of, ledger, run_at, subscribed
from tests.support import factories as f

TERM_END = date(2027, 1, 1)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(at(date(2026, 6, 1)))


@pytest.fixture
def runtime(
    settings: Settings, session_factory: async_sessionmaker[AsyncSession], clock: FixedClock
) -> Runtime:
    providers = build_providers(settings, session_factory, clock)
    return build_runtime(settings, sessions=session_factory, clock=clock, providers=providers)


async def _in_country(db: AsyncSession, sub: Subscription, country: str) -> None:
    account = await db.get(BillingAccount, sub.billing_account_id)
    assert account is not None
    account.billing_country = country
    await db.flush()


async def _line_taxes(db: AsyncSession, invoice_id: int | None) -> list[tuple[object, ...]]:
    rows = (
        await db.scalars(
            sa.select(InvoiceLine)
            .where(col(InvoiceLine.invoice_id) == invoice_id)
            .order_by(col(InvoiceLine.position))
        )
    ).all()
    return [(r.amount, r.tax_treatment, r.tax_rate_ppm, r.tax_amount, r.tax_note) for r in rows]


async def test_a_renewal_invoice_is_taxed_and_charged_with_its_tax(
    db: AsyncSession, runtime: Runtime, clock: FixedClock
) -> None:
    sub = await subscribed(
        db, seats=10, mode=ReconciliationMode.ANNUAL_TRUE_UP, seats_in_use=10, max_seats_used=10
    )
    await _in_country(db, sub, "DE")

    await run_at(runtime, clock, at(TERM_END))

    [invoice] = await invoices_of(db, sub)
    # 10 x 34 800 = 348 000; 19 % = 66 120
    assert await _line_taxes(db, invoice.id) == [
        (348_000, TaxTreatment.VAT, 190_000, 66_120, "VAT 19% (DE)")
    ]
    assert (invoice.subtotal, invoice.tax, invoice.total, invoice.amount_paid) == (
        348_000,
        66_120,
        414_120,
        414_120,
    )
    assert await ledger(db) == (1, [(414_120, "SUCCEEDED")])
    [provider] = (await db.scalars(sa.select(LedgerInvoice))).all()
    assert [(line["description"], line["amount"]) for line in provider.lines][1:] == [
        ("VAT 19% (DE)", 66_120)
    ]


async def test_a_reconciliation_invoice_is_taxed(
    db: AsyncSession, runtime: Runtime, clock: FixedClock
) -> None:
    # docs/domain.md section 9, example 4, quarter 1: 10 x 34 800 x 3/4 = 261 000;
    # in FR 20 % = 52 200.
    sub = await subscribed(db, seats=100)
    for day, users in ((date(2026, 1, 1), 100), (date(2026, 3, 31), 110)):
        await f.seat_report(db, sub, day, users)
    await _in_country(db, sub, "FR")

    for day in (date(2026, 3, 31), date(2026, 4, 1), date(2026, 4, 8)):  # notice, +7 invoice
        await run_at(runtime, clock, at(day))

    [invoice] = await invoices_of(db, sub)
    assert await _line_taxes(db, invoice.id) == [
        (261_000, TaxTreatment.VAT, 200_000, 52_200, "VAT 20% (FR)")
    ]
    assert (invoice.subtotal, invoice.tax, invoice.total) == (261_000, 52_200, 313_200)
    assert await ledger(db) == (1, [(313_200, "SUCCEEDED")])


async def test_a_lifecycle_invoice_without_a_country_is_untaxed(
    db: AsyncSession, runtime: Runtime, clock: FixedClock
) -> None:
    sub = await subscribed(
        db, seats=10, mode=ReconciliationMode.ANNUAL_TRUE_UP, seats_in_use=10, max_seats_used=10
    )

    await run_at(runtime, clock, at(TERM_END))

    [invoice] = await invoices_of(db, sub)
    assert await _line_taxes(db, invoice.id) == [(348_000, TaxTreatment.NOT_TAXED, 0, 0, None)]
    assert (invoice.tax, invoice.total) == (0, 348_000)
    assert await ledger(db) == (1, [(348_000, "SUCCEEDED")])
