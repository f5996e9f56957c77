"""The SQL of payment methods and pay-now: the payer's rows read in the caller's scope and
locked for the change, and the pay-now requests of an invoice."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.db.scope import ReadScope
from app.db.tables import BillingAccount, Invoice, PayNowRequest, Reconciliation, Renewal
from app.domain.enums import PayNowStatus


async def billing_account_in_scope(
    session: AsyncSession, scope: ReadScope, account_id: int
) -> BillingAccount | None:
    stmt = sa.select(BillingAccount).where(
        col(BillingAccount.id) == account_id, scope.billing_accounts()
    )
    return (await session.scalars(stmt)).first()


async def invoice_for_update(
    session: AsyncSession, scope: ReadScope, invoice_id: int
) -> Invoice | None:
    """The invoice if the scope sees it, locked: pay-now requests for it take turns."""
    stmt = (
        sa.select(Invoice)
        .where(col(Invoice.id) == invoice_id, scope.invoices())
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return (await session.scalars(stmt)).first()


async def pay_now_request(session: AsyncSession, account_id: int, key: str) -> PayNowRequest | None:
    stmt = (
        sa.select(PayNowRequest)
        .where(
            col(PayNowRequest.billing_account_id) == account_id,
            col(PayNowRequest.idempotency_key) == key,
        )
        .execution_options(populate_existing=True)
    )
    return (await session.scalars(stmt)).first()


async def unsettled_requests(session: AsyncSession, invoice_id: int) -> list[PayNowRequest]:
    """The invoice's requests still PENDING: all wait on the one charge (the same keys)."""
    stmt = (
        sa.select(PayNowRequest)
        .where(
            col(PayNowRequest.invoice_id) == invoice_id,
            col(PayNowRequest.status) == PayNowStatus.PENDING,
        )
        .with_for_update()
    )
    return list((await session.scalars(stmt)).all())


async def processing_request(
    session: AsyncSession, invoice_id: int, now: datetime
) -> PayNowRequest | None:
    """A PENDING request of the invoice being charged now (its claim not run out)."""
    stmt = sa.select(PayNowRequest).where(
        col(PayNowRequest.invoice_id) == invoice_id,
        col(PayNowRequest.status) == PayNowStatus.PENDING,
        col(PayNowRequest.processing_until) > now,
    )
    return (await session.scalars(stmt)).first()


async def declined_attempts(session: AsyncSession, invoice_id: int) -> int:
    """How many pay-now charges of the invoice were declined (each used its own key)."""
    stmt = sa.select(sa.func.count()).where(
        col(PayNowRequest.invoice_id) == invoice_id,
        col(PayNowRequest.status) == PayNowStatus.DECLINED,
    )
    return int((await session.execute(stmt)).scalar_one())


async def renewal_of_invoice(session: AsyncSession, invoice_id: int) -> Renewal | None:
    stmt = sa.select(Renewal).where(col(Renewal.invoice_id) == invoice_id)
    return (await session.scalars(stmt)).first()


async def reconciliation_of_invoice(
    session: AsyncSession, invoice_id: int
) -> Reconciliation | None:
    stmt = sa.select(Reconciliation).where(col(Reconciliation.invoice_id) == invoice_id)
    return (await session.scalars(stmt)).first()
