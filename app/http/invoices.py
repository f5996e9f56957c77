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
from app.db.repositories.invoices import lines_by_invoice
from app.db.tables import BillingAccount, Invoice
from app.runtime import Runtime
from app.services.invoice_pdf import render_invoice

SELLER = "Fulfillment demo vendor"


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
        account = await session.get(BillingAccount, invoice.billing_account_id)
        assert account is not None
        lines = (await lines_by_invoice(session, [invoice.id or 0])).get(invoice.id or 0, [])
    body = render_invoice(invoice, lines, account, SELLER)
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


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)
