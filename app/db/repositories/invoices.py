"""Invoices with their lines and payments."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.db.pagination import Page, PageRequest, fetch_child_pages, fetch_page
from app.db.repositories.common import by_ids, child_rows, children
from app.db.scope import ReadScope
from app.db.tables import CreditNote, Invoice, InvoiceLine, Payment
from app.domain.enums import InvoiceStatus, SyncStatus


@dataclass(frozen=True, slots=True)
class InvoiceFilter:
    statuses: tuple[InvoiceStatus, ...] = ()
    customer_id: int | None = None
    subscription_id: int | None = None

    def conditions(self) -> list[sa.ColumnElement[bool]]:
        found: list[sa.ColumnElement[bool]] = []
        if self.statuses:
            found.append(col(Invoice.status).in_(self.statuses))
        if self.customer_id is not None:
            found.append(col(Invoice.customer_id) == self.customer_id)
        if self.subscription_id is not None:
            found.append(col(Invoice.subscription_id) == self.subscription_id)
        return found


async def list_invoices(
    session: AsyncSession, scope: ReadScope, page: PageRequest, filters: InvoiceFilter
) -> Page[Invoice]:
    stmt = sa.select(Invoice).where(scope.invoices(), *filters.conditions())
    return await fetch_page(session, stmt, Invoice.id, page)


async def invoices_by_ids(
    session: AsyncSession, scope: ReadScope, ids: Sequence[int]
) -> dict[int, Invoice]:
    return await by_ids(session, Invoice, ids, scope.invoices())


async def invoice_pages_by(
    session: AsyncSession,
    scope: ReadScope,
    parent: str,
    parent_ids: Sequence[int],
    page: PageRequest,
) -> dict[int, Page[Invoice]]:
    """Invoice pages per customer or per subscription (`parent` names the column), as
    read-only Core rows with the invoice's columns."""
    column = {"customer": Invoice.customer_id, "subscription": Invoice.subscription_id}[parent]
    return await fetch_child_pages(
        session, Invoice, column, parent_ids, page, scope.invoices(), plain=True
    )


async def lines_by_invoice(
    session: AsyncSession, invoice_ids: Sequence[int]
) -> dict[int, list[InvoiceLine]]:
    return await children(
        session, InvoiceLine, InvoiceLine.invoice_id, invoice_ids, order_by=(InvoiceLine.position,)
    )


async def line_rows_by_invoice(
    session: AsyncSession, invoice_ids: Sequence[int]
) -> dict[int, list[sa.Row[Any]]]:
    """`lines_by_invoice` as read-only Core rows (for the API's lists)."""
    return await child_rows(
        session, InvoiceLine, InvoiceLine.invoice_id, invoice_ids, order_by=(InvoiceLine.position,)
    )


async def payments_by_invoice(
    session: AsyncSession, invoice_ids: Sequence[int]
) -> dict[int, list[Payment]]:
    return await children(session, Payment, Payment.invoice_id, invoice_ids)


async def credit_notes_by_invoice(
    session: AsyncSession, invoice_ids: Sequence[int]
) -> dict[int, list[CreditNote]]:
    return await children(session, CreditNote, CreditNote.invoice_id, invoice_ids)


async def invoice_for_order(
    session: AsyncSession, scope: ReadScope, order_id: int
) -> Invoice | None:
    stmt = sa.select(Invoice).where(col(Invoice.order_id) == order_id, scope.invoices())
    return (await session.scalars(stmt)).first()


async def awaiting_sync(session: AsyncSession, subscription_id: int) -> list[Invoice]:
    """The subscription's invoices issued at the billing provider whose copy is unchecked."""
    stmt = sa.select(Invoice).where(
        col(Invoice.subscription_id) == subscription_id,
        col(Invoice.sync_status) == SyncStatus.PENDING,
        col(Invoice.provider_ref).is_not(None),
    )
    return list((await session.scalars(stmt.order_by(col(Invoice.id)))).all())


async def set_sync_statuses(session: AsyncSession, statuses: dict[int, SyncStatus]) -> None:
    """Each invoice's verdict, where it is still PENDING (a newer check may have decided)."""
    for status in set(statuses.values()):
        ids = [invoice_id for invoice_id, found in statuses.items() if found is status]
        await session.execute(
            sa.update(Invoice)
            .where(col(Invoice.id).in_(ids), col(Invoice.sync_status) == SyncStatus.PENDING)
            .values(sync_status=status)
        )


async def insert_payment_once(session: AsyncSession, payment: Payment) -> int | None:
    """Insert the payment unless a row for the same provider payment exists (the unique
    index on provider_ref): the new row's id when this call inserted it, else None. A
    concurrent insert of the same ref waits on the index (PostgreSQL) or the write lock
    (SQLite) and then does nothing, so the loser's transaction goes on instead of failing
    with an IntegrityError."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    values = {
        column.name: getattr(payment, column.name)
        for column in Payment.__table__.columns  # type: ignore[attr-defined]
        if column.name != "id"
    }
    stmt = (
        insert(Payment)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["provider_ref"])
        .returning(col(Payment.id))
    )
    found: int | None = (await session.execute(stmt)).scalar_one_or_none()
    return found
