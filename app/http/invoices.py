"""GET /invoices/{number}.pdf: the invoice PDF, behind the same credentials and scope as the
API (a bearer token; another tenant's invoice is a 404, as if it did not exist)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from app.auth.authenticate import authenticate, read_scope
from app.auth.tokens import InvalidCredentials
from app.db.repositories.invoices import lines_by_invoice, payments_by_invoice
from app.db.tables import BillingAccount, Invoice, Subscription
from app.runtime import Runtime
from app.services.invoice_pdf import InvoiceDocument, Seller, render_invoice


async def invoice_pdf(request: Request) -> Response:
    runtime: Runtime = request.app.state.runtime
    number = request.path_params["number"]
    async with runtime.sessions() as session:
        try:
            principal = await authenticate(
                session, runtime.settings, request.headers.get("authorization")
            )
        except InvalidCredentials:
            return _error(401, "UNAUTHENTICATED", "Invalid credentials.")
        if not principal.is_authenticated:
            return _error(401, "UNAUTHENTICATED", "Sign in to download invoices.")
        invoice = await _visible_invoice(session, read_scope(principal).invoices(), number)
        if invoice is None:
            return _error(404, "NOT_FOUND", "No such invoice.")
        document = await _document(session, runtime, invoice)
    body = render_invoice(document)
    headers = {
        "Content-Disposition": f'inline; filename="{invoice.number}.pdf"',
        "Cache-Control": "private, no-store",
    }
    return Response(body, media_type="application/pdf", headers=headers)


async def _visible_invoice(
    session: AsyncSession, visible: sa.ColumnElement[bool], number: str
) -> Invoice | None:
    stmt = sa.select(Invoice).where(col(Invoice.number) == number.upper(), visible)
    return (await session.scalars(stmt)).first()


async def _document(session: AsyncSession, runtime: Runtime, invoice: Invoice) -> InvoiceDocument:
    """What the PDF prints, read after the invoice was found in the caller's scope."""
    pk = invoice.id or 0
    account = await session.get(BillingAccount, invoice.billing_account_id)
    assert account is not None
    subscription = (
        None
        if invoice.subscription_id is None
        else await session.get(Subscription, invoice.subscription_id)
    )
    return InvoiceDocument(
        invoice=invoice,
        lines=(await lines_by_invoice(session, [pk])).get(pk, []),
        account=account,
        seller=Seller.of(runtime.settings),
        subscription_number=None if subscription is None else subscription.number,
        payments=(await payments_by_invoice(session, [pk])).get(pk, []),
    )


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)
