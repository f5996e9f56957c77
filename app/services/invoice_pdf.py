"""An invoice as a PDF an accounts-payable team files (rendered with fpdf2).

It carries what an EU VAT invoice must (Directive 2006/112/EC, art. 226): the seller's and
the buyer's legal names, addresses and VAT ids, a unique number, the issue date, each line's
description, service period, quantity, unit price and amount, the net total, the tax and the
gross total, in a stated currency; and what AP teams look for besides: due date, payment
terms, subscription number, amount paid and balance due.

Text is set in DejaVu Sans, embedded (vendored in app/services/fonts/, licence beside it), so
names such as "Zoë Łukasiewicz GmbH" print as written. A character the font lacks (CJK) is
printed as its code point, `[U+682A]`, never dropped or turned into "?".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from fontTools.ttLib import TTFont
from fpdf import FPDF
from fpdf.fonts import FontFace

from app.config import Settings
from app.db.tables import BillingAccount, Invoice, InvoiceLine, Payment
from app.domain.enums import PaymentStatus, TaxTreatment
from app.domain.invoice_terms import address_lines, payment_terms, service_period
from app.domain.money import Money
from app.domain.tax import REVERSE_CHARGE_NOTE

FONTS = Path(__file__).parent / "fonts"
FONT = "DejaVu"
_WIDTHS = (96, 16, 34, 34)  # description, quantity, unit price, amount (mm): 180 = A4 - margins
_HEADINGS = ("Description", "Qty", "Unit price", "Amount")


@dataclass(frozen=True, slots=True)
class Seller:
    legal_name: str
    address: tuple[str, ...]
    vat_id: str
    registration_number: str
    email: str

    @classmethod
    def of(cls, settings: Settings) -> Seller:
        return cls(
            legal_name=settings.seller_legal_name,
            address=settings.seller_address_lines,
            vat_id=settings.seller_vat_id,
            registration_number=settings.seller_registration_number,
            email=settings.seller_email,
        )


@dataclass(frozen=True, slots=True)
class InvoiceDocument:
    """Everything printed: the invoice, its lines (in position order), who pays, what it is
    for, and its payments (a paid invoice states how and when it was paid)."""

    invoice: Invoice
    lines: Sequence[InvoiceLine]
    account: BillingAccount
    seller: Seller
    subscription_number: str | None = None
    payments: Sequence[Payment] = ()


class _Pdf(FPDF):
    """Every page: the invoice number and "Page n of m" at the foot."""

    def __init__(self, number: str) -> None:
        super().__init__(format="A4")
        self.number = number

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FONT, size=8)
        self.cell(0, 5, f"Invoice {self.number}", align="L")
        self.set_x(self.l_margin)
        self.cell(0, 5, f"Page {self.page_no()} of {{nb}}", align="R")


def render_invoice(document: InvoiceDocument) -> bytes:
    invoice = document.invoice
    pdf = _Pdf(invoice.number)
    pdf.set_compression(False)  # small documents; plain text keeps them searchable and testable
    pdf.set_title(f"Invoice {invoice.number}")
    pdf.set_author(document.seller.legal_name)
    pdf.add_font(FONT, "", str(FONTS / "DejaVuSans.ttf"))
    pdf.add_font(FONT, "B", str(FONTS / "DejaVuSans-Bold.ttf"))
    pdf.set_auto_page_break(auto=True, margin=18)
    pdf.add_page()
    _parties(pdf, document)
    _facts(pdf, document)
    _lines(pdf, document)
    _totals(pdf, invoice, document.lines)
    return bytes(pdf.output())


@cache
def _covered() -> frozenset[int]:
    """The code points both vendored faces have a glyph for."""
    maps = []
    for name in ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf"):
        with TTFont(FONTS / name) as face:
            maps.append(set(face.getBestCmap()))
    return frozenset(maps[0] & maps[1])


def printable(text: str) -> str:
    """`text` with each character the font cannot draw written as its code point."""
    covered = _covered()
    return "".join(ch if ch in "\n" or ord(ch) in covered else f"[U+{ord(ch):04X}]" for ch in text)


def _money(amount: int, currency: str) -> str:
    return Money(amount, currency).formatted


def _block(pdf: FPDF, x: float, width: float, title: str, rows: Sequence[str]) -> float:
    """A titled block of lines at `x`, from the current y; returns where it ends."""
    top = pdf.get_y()
    pdf.set_xy(x, top)
    pdf.set_font(FONT, "B", 9)
    pdf.multi_cell(width, 5, title, new_x="LEFT", new_y="NEXT")
    pdf.set_font(FONT, size=9)
    pdf.multi_cell(width, 4.5, printable("\n".join(rows)), new_x="LEFT", new_y="NEXT")
    end: float = pdf.get_y()
    pdf.set_y(top)
    return end


def _parties(pdf: FPDF, document: InvoiceDocument) -> None:
    seller, account = document.seller, document.account
    pdf.set_font(FONT, "B", 18)
    pdf.cell(0, 10, f"Invoice {document.invoice.number}", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    column = (pdf.w - pdf.l_margin - pdf.r_margin) / 2
    seller_rows = [
        seller.legal_name,
        *seller.address,
        f"VAT id: {seller.vat_id}",
        f"Registration no.: {seller.registration_number}",
        seller.email,
    ]
    address = address_lines(
        account.billing_address_line1,
        account.billing_address_line2,
        account.billing_postal_code,
        account.billing_city,
        account.billing_region,
        account.billing_country,
    )
    buyer_rows = [
        account.sold_to_name,
        *address,
        f"VAT id: {account.tax_id}" if account.tax_id else "VAT id: none given",
        f"Attn: {account.bill_to_name}",
        account.bill_to_email,
    ]
    ends = (
        _block(pdf, pdf.l_margin, column - 4, "From (seller)", seller_rows),
        _block(pdf, pdf.l_margin + column, column, "Bill to (buyer)", buyer_rows),
    )
    pdf.set_xy(pdf.l_margin, max(ends) + 4)


def _facts(pdf: FPDF, document: InvoiceDocument) -> None:
    invoice = document.invoice
    paid = [p for p in document.payments if p.status is PaymentStatus.SUCCEEDED]
    last = max(paid, key=lambda p: p.created_at) if paid and invoice.amount_paid else None
    terms = payment_terms(
        invoice.issued_on,
        invoice.due_on,
        None if last is None else last.created_at.date(),
        # The row keeps the card only where the provider said; else the account's card paid.
        None if last is None else last.payment_method or document.account.payment_method,
    )
    facts = [
        ("Invoice number", invoice.number),
        ("Issue date", invoice.issued_on.isoformat()),
        ("Due date", invoice.due_on.isoformat()),
        ("Payment terms", terms),
        ("Currency", invoice.currency),
        ("Subscription", document.subscription_number or "none"),
        ("Status", invoice.status.value),
    ]
    for label, value in facts:
        pdf.set_font(FONT, "B", 9)
        pdf.cell(40, 5, label)
        pdf.set_font(FONT, size=9)
        pdf.cell(0, 5, printable(value), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)


def _lines(pdf: FPDF, document: InvoiceDocument) -> None:
    """The line table: descriptions wrap within their column; a long invoice flows onto more
    pages with the headings repeated on each."""
    currency = document.invoice.currency
    pdf.set_font(FONT, size=9)
    with pdf.table(
        col_widths=_WIDTHS,
        text_align=("LEFT", "RIGHT", "RIGHT", "RIGHT"),
        headings_style=FontFace(emphasis="BOLD"),
        borders_layout="HORIZONTAL_LINES",
        line_height=4.5,
        repeat_headings=1,
        first_row_as_headings=True,
    ) as table:
        heading = table.row()
        for title in _HEADINGS:
            heading.cell(title)
        for line in sorted(document.lines, key=lambda each: each.position):
            period = service_period(line.period_start, line.period_end)
            description = line.description if period is None else f"{line.description}\n{period}"
            tax = _line_tax(line, currency)
            description = description if tax is None else f"{description}\n{tax}"
            row = table.row()
            row.cell(printable(description))
            row.cell(str(line.quantity))
            row.cell(_money(line.unit_amount, currency))
            row.cell(_money(line.amount, currency))


def _line_tax(line: InvoiceLine, currency: str) -> str | None:
    """Under a taxed line's description: its tax ("VAT 19% (DE): €66.12"), or that it is
    reverse charged; nothing for an untaxed line (an untaxed invoice prints as before)."""
    if line.tax_treatment is TaxTreatment.NOT_TAXED:
        return None
    if line.tax_treatment is TaxTreatment.REVERSE_CHARGE:
        return "Reverse charge, VAT 0%"
    note = (line.tax_note or "Tax").split(";")[0]
    return f"{note}: {_money(line.tax_amount, currency)}"


def _tax_label(lines: Sequence[InvoiceLine]) -> str:
    """ "Tax", with the one rate of its taxed lines when they share it: "Tax (VAT 19% (DE))"."""
    notes = {
        (line.tax_note or "").split(";")[0]
        for line in lines
        if line.tax_treatment in (TaxTreatment.VAT, TaxTreatment.SALES_TAX)
    }
    return f"Tax ({notes.pop()})" if len(notes) == 1 else "Tax"


def _totals(pdf: FPDF, invoice: Invoice, lines: Sequence[InvoiceLine]) -> None:
    # The tax row is always shown (0 for an untaxed or reverse-charged invoice); a reverse
    # charge states so below the totals, with the buyer's VAT id (docs/tax.md).
    rows = [
        ("Subtotal", invoice.subtotal, False),
        ("Discount", -invoice.discount, False),
        (_tax_label(lines), invoice.tax, False),
        (f"Total ({invoice.currency})", invoice.total, True),
        ("Amount paid", invoice.amount_paid, False),
        ("Balance due", invoice.total - invoice.amount_paid, True),
    ]
    pdf.ln(3)
    if pdf.get_y() + 6 * len(rows) > pdf.page_break_trigger:
        pdf.add_page()
    for label, amount, strong in rows:
        pdf.set_font(FONT, "B" if strong else "", 10)
        pdf.cell(sum(_WIDTHS[:3]), 6, label, align="R")
        pdf.cell(
            _WIDTHS[3],
            6,
            _money(amount, invoice.currency),
            align="R",
            new_x="LMARGIN",
            new_y="NEXT",
        )
    reverse = next(
        (line for line in lines if line.tax_treatment is TaxTreatment.REVERSE_CHARGE), None
    )
    if reverse is not None:
        pdf.ln(3)
        pdf.set_font(FONT, size=9)
        _, _, vat_id = (reverse.tax_note or "").partition("buyer VAT id ")
        statement = f"{REVERSE_CHARGE_NOTE}. Buyer VAT id: {vat_id or 'none given'}"
        pdf.multi_cell(0, 4.5, printable(statement), new_x="LMARGIN", new_y="NEXT")
