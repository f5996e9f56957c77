"""SQL of the local billing ledger: batch reads, locked lookups, rows <-> neutral records."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel, col

from app.db.tables.local_providers import (
    LedgerAccount,
    LedgerInvoice,
    LedgerPayment,
    LedgerRefund,
    LedgerSubscription,
)
from app.providers._sql import dump_json, load_json
from app.providers.billing.records import (
    BillingAccountRecord,
    BillingSubscriptionRecord,
    InvoiceLineRecord,
    InvoiceRecord,
    PaymentRecord,
    RefundRecord,
    SubscriptionItem,
)
from app.providers.errors import ProviderNotFound

PROVIDER = "local"
Row = TypeVar("Row", LedgerAccount, LedgerSubscription, LedgerInvoice, LedgerPayment)


async def rows_by_ref(session: AsyncSession, table: type[Row], refs: Sequence[str]) -> list[Row]:
    """One SELECT for the whole batch; unknown refs are simply not returned."""
    wanted = sorted(set(refs))
    if not wanted:
        return []
    query = select(table).where(col(table.ref).in_(wanted))
    return list((await session.execute(query)).scalars())


async def find(session: AsyncSession, table: type[Row], ref: str, *, lock: bool = True) -> Row:
    """The row with `ref`, by default locked for update (PostgreSQL; SQLite serialises
    writers); ProviderNotFound when there is none."""
    query = select(table).where(col(table.ref) == ref)
    if lock:
        query = query.with_for_update()
    row = (await session.execute(query)).scalar_one_or_none()
    if row is None:
        raise ProviderNotFound(PROVIDER, f"no {_noun(table)} {ref!r}", ref=ref)
    return row


async def payments_of(session: AsyncSession, invoice_refs: Sequence[str]) -> list[LedgerPayment]:
    wanted = sorted(set(invoice_refs))
    if not wanted:
        return []
    query = (
        select(LedgerPayment)
        .where(col(LedgerPayment.invoice_ref).in_(wanted))
        .order_by(col(LedgerPayment.id))
    )
    return list((await session.execute(query)).scalars())


async def refunded(session: AsyncSession, payment_ref: str) -> int:
    """What was already given back on the payment."""
    query = select(func.coalesce(func.sum(col(LedgerRefund.amount)), 0)).where(
        col(LedgerRefund.payment_ref) == payment_ref
    )
    return int((await session.execute(query)).scalar_one())


def _noun(table: type[SQLModel]) -> str:
    return str(table.__tablename__).removeprefix("ledger_")


def items_json(items: Sequence[SubscriptionItem]) -> list[dict[str, Any]]:
    return [dump_json(SubscriptionItem, item) for item in items]


def lines_json(lines: Sequence[InvoiceLineRecord]) -> list[dict[str, Any]]:
    return [dump_json(InvoiceLineRecord, line) for line in lines]


def account_record(row: LedgerAccount) -> BillingAccountRecord:
    return BillingAccountRecord(
        ref=row.ref,
        name=row.name,
        email=row.email,
        currency=row.currency,
        payment_method=row.payment_method,
    )


def subscription_record(row: LedgerSubscription) -> BillingSubscriptionRecord:
    return BillingSubscriptionRecord(
        ref=row.ref,
        account_ref=row.account_ref,
        status=row.status,
        term_start=row.term_start,
        term_end=row.term_end,
        auto_renew=row.auto_renew,
        items=tuple(load_json(SubscriptionItem, item) for item in row.items),
    )


def invoice_record(row: LedgerInvoice) -> InvoiceRecord:
    return InvoiceRecord(
        ref=row.ref,
        account_ref=row.account_ref,
        subscription_ref=row.subscription_ref,
        currency=row.currency,
        total=row.total,
        balance=row.balance,
        status=row.status,
        issued_on=row.issued_on,
        due_on=row.due_on,
        lines=tuple(load_json(InvoiceLineRecord, line) for line in row.lines),
    )


def payment_record(row: LedgerPayment) -> PaymentRecord:
    return PaymentRecord(
        ref=row.ref,
        invoice_ref=row.invoice_ref,
        amount=row.amount,
        currency=row.currency,
        status=row.status,
        failure_code=row.failure_code,
    )


def refund_record(row: LedgerRefund) -> RefundRecord:
    return RefundRecord(
        ref=row.ref,
        payment_ref=row.payment_ref,
        invoice_ref=row.invoice_ref,
        amount=row.amount,
        currency=row.currency,
        status=row.status,
    )
