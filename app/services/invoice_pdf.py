"""An invoice as a PDF a customer can download and file (rendered with fpdf2)."""

from __future__ import annotations

from collections.abc import Sequence

from fpdf import FPDF

from app.db.tables import BillingAccount, Invoice, InvoiceLine
from app.domain.money import Money

_WIDTHS = (95, 20, 35, 35)  # description, quantity, unit price, amount (mm)


def render_invoice(
    invoice: Invoice, lines: Sequence[InvoiceLine], account: BillingAccount, seller: str
) -> bytes:
    pdf = FPDF(format="A4")
    pdf.set_compression(False)  # small documents; plain text keeps them searchable and testable
    pdf.set_title(f"Invoice {invoice.number}")
    pdf.set_author(seller)
    pdf.add_page()
    _header(pdf, invoice, account, seller)
    _lines(pdf, invoice, lines)
    _totals(pdf, invoice)
    return bytes(pdf.output())


def _money(amount: int, currency: str) -> str:
    # The core PDF fonts are Latin-1: a symbol outside it (the euro sign) becomes the code.
    text = Money(amount, currency).formatted
    try:
        text.encode("latin-1")
    except UnicodeEncodeError:
        text = text.replace("€", "EUR ")
    return text


def _header(pdf: FPDF, invoice: Invoice, account: BillingAccount, seller: str) -> None:
    pdf.set_font("Helvetica", "B", 16)
    pdf.cell(0, 10, f"Invoice {invoice.number}", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=10)
    for text in (
        f"From: {seller}",
        f"Bill to: {account.bill_to_name} <{account.bill_to_email}>",
        f"Tax id: {account.tax_id}" if account.tax_id else "",
        f"Issued {invoice.issued_on.isoformat()}, due {invoice.due_on.isoformat()}",
        f"Status: {invoice.status.value}",
    ):
        if text:
            pdf.cell(0, 6, text, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)


def _lines(pdf: FPDF, invoice: Invoice, lines: Sequence[InvoiceLine]) -> None:
    pdf.set_font("Helvetica", "B", 10)
    for width, title in zip(_WIDTHS, ("Description", "Qty", "Unit price", "Amount"), strict=True):
        pdf.cell(width, 7, title, border="B", align="L" if title == "Description" else "R")
    pdf.ln()
    pdf.set_font("Helvetica", size=9)
    for line in lines:
        cells = (
            line.description,
            str(line.quantity),
            _money(line.unit_amount, invoice.currency),
            _money(line.amount, invoice.currency),
        )
        for index, (width, text) in enumerate(zip(_WIDTHS, cells, strict=True)):
            pdf.cell(width, 6, text[:60], align="L" if index == 0 else "R")
        pdf.ln()


def _totals(pdf: FPDF, invoice: Invoice) -> None:
    pdf.ln(2)
    pdf.set_font("Helvetica", "B", 10)
    rows = [
        ("Subtotal", invoice.subtotal),
        ("Discount", -invoice.discount),
        ("Tax", invoice.tax),
        ("Total", invoice.total),
        ("Paid", invoice.amount_paid),
        ("Amount due", invoice.total - invoice.amount_paid),
    ]
    for label, amount in rows:
        pdf.cell(sum(_WIDTHS[:3]), 6, label, align="R")
        pdf.cell(
            _WIDTHS[3],
            6,
            _money(amount, invoice.currency),
            align="R",
            new_x="LMARGIN",
            new_y="NEXT",
        )
