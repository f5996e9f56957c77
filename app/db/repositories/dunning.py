"""The rows Subscription.dunning is derived from (app/domain/dunning.py), for a batch of
subscriptions in three statements: their open invoices (not an order's still executing),
the declined payments on them, and their declined renewals."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.db.tables import Invoice, Payment, Renewal
from app.domain.dunning import DeclinedRenewal, OpenInvoice
from app.domain.enums import InvoiceStatus, PaymentStatus
from app.domain.lifecycle import RenewalStatus

Collected = tuple[list[OpenInvoice], DeclinedRenewal | None]


async def collection_by_subscription(
    session: AsyncSession, subscription_ids: Sequence[int]
) -> dict[int, Collected]:
    ids = sorted(set(subscription_ids))
    if not ids:
        return {}
    invoices = list(
        (
            await session.scalars(
                sa.select(Invoice).where(
                    col(Invoice.subscription_id).in_(ids),
                    col(Invoice.status) == InvoiceStatus.OPEN,
                    col(Invoice.order_id).is_(None),
                )
            )
        ).all()
    )
    failed: dict[int, list[Payment]] = defaultdict(list)
    if invoices:
        payments = await session.scalars(
            sa.select(Payment)
            .where(
                col(Payment.invoice_id).in_([invoice.id for invoice in invoices]),
                col(Payment.status) == PaymentStatus.FAILED,
            )
            .order_by(col(Payment.id))
        )
        for payment in payments:
            failed[payment.invoice_id].append(payment)
    renewals = await session.scalars(
        sa.select(Renewal)
        .where(
            col(Renewal.subscription_id).in_(ids),
            col(Renewal.status) == RenewalStatus.DECLINED,
        )
        .order_by(col(Renewal.term_start))
    )
    found: dict[int, Collected] = {sid: ([], None) for sid in ids}
    for invoice in invoices:
        declines = failed[invoice.id or 0]
        found[invoice.subscription_id or 0][0].append(
            OpenInvoice(
                invoice_id=invoice.id or 0,
                amount_due=invoice.total - invoice.amount_paid,
                currency=invoice.currency,
                due_on=invoice.due_on,
                failed_attempts=len(declines),
                last_failure_code=declines[-1].failure_code if declines else None,
            )
        )
    for renewal in renewals:
        if renewal.invoice_id is None:
            continue
        found[renewal.subscription_id] = (
            found[renewal.subscription_id][0],
            DeclinedRenewal(
                invoice_id=renewal.invoice_id,
                term_start=renewal.term_start,
                attempts=renewal.attempts,
                next_attempt_on=renewal.next_attempt_on,
                failure_code=renewal.failure_code,
            ),
        )
    return found
