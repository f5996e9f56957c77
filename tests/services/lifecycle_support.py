"""Helpers of the lifecycle tests: a customer with a billing contact and a subscription,
worker runs at a given moment, and what the local billing ledger and mailbox hold."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, time
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.clock import FixedClock
from app.db.tables import (
    AuditEvent,
    Deployment,
    Invoice,
    InvoiceLine,
    LedgerInvoice,
    LedgerPayment,
    Notification,
    ProvisionedEntitlement,
    Subscription,
)
from app.domain.enums import ReconciliationMode
from app.runtime import Runtime
from app.services.worker.options import WorkerOptions
from app.services.worker.runner import Worker
from tests.support import factories as f

OPTIONS = WorkerOptions(jitter=0, worker_id="worker-a")


def at(day: date, hour: int = 6) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=UTC)


async def subscribed(
    db: AsyncSession,
    plan: str = "premium",
    *,
    seats: int = 100,
    mode: ReconciliationMode = ReconciliationMode.QUARTERLY,
    payment_method: str | None = "pm_card_visa",
    **overrides: Any,
) -> Subscription:
    """A subscription (term 2026-01-01 .. 2027-01-01 by default) whose customer has an owner,
    so every notification has one recipient."""
    customer = await f.customer(db)
    await f.user(db, customer)
    account = await f.billing_account(db, customer, payment_method=payment_method)
    return await f.subscription(
        db, customer, plan, account=account, seats=seats, reconciliation_mode=mode, **overrides
    )


async def run_at(runtime: Runtime, clock: FixedClock, moment: datetime) -> dict[str, int]:
    clock.set(moment)
    return await Worker(runtime, OPTIONS).run_once()


async def ledger(db: AsyncSession) -> tuple[int, list[tuple[int, str]]]:
    """Invoices at the local billing provider, and its payments as (amount, status)."""
    invoices = await db.scalar(sa.select(sa.func.count()).select_from(LedgerInvoice))
    payments = (
        await db.execute(
            sa.select(col(LedgerPayment.amount), col(LedgerPayment.status)).order_by(
                col(LedgerPayment.id)
            )
        )
    ).all()
    return int(invoices or 0), [(amount, status) for amount, status in payments]


async def invoices_of(db: AsyncSession, sub: Subscription) -> list[Invoice]:
    stmt = (
        sa.select(Invoice)
        .where(col(Invoice.subscription_id) == sub.id)
        .order_by(col(Invoice.id))
        .execution_options(populate_existing=True)
    )
    return list((await db.scalars(stmt)).all())


async def lines_of(db: AsyncSession, invoice: Invoice) -> list[tuple[str, int, int, int]]:
    stmt = (
        sa.select(InvoiceLine)
        .where(col(InvoiceLine.invoice_id) == invoice.id)
        .order_by(col(InvoiceLine.position))
    )
    rows = (await db.scalars(stmt)).all()
    return [(row.description, row.quantity, row.unit_amount, row.amount) for row in rows]


async def notices(db: AsyncSession, sub: Subscription) -> list[tuple[str, date]]:
    """The subscription's notifications as (kind, day), oldest first."""
    stmt = (
        sa.select(col(Notification.kind), col(Notification.created_at))
        .where(col(Notification.subscription_id) == sub.id)
        .order_by(col(Notification.id))
    )
    return [(kind.value, created.date()) for kind, created in (await db.execute(stmt)).all()]


async def audit_actions(db: AsyncSession, sub: Subscription) -> Counter[str]:
    stmt = sa.select(col(AuditEvent.action), col(AuditEvent.actor_kind)).where(
        col(AuditEvent.target_type) == "Subscription",
        col(AuditEvent.target_id) == str(sub.id),
    )
    rows = (await db.execute(stmt)).all()
    assert {kind for _, kind in rows} <= {"SERVICE"}
    return Counter(action for action, _ in rows)


async def reload(db: AsyncSession, sub: Subscription) -> Subscription:
    await db.refresh(sub)
    return sub


async def entitlement(db: AsyncSession, sub: Subscription) -> dict[str, Any] | None:
    deployment = await db.get(Deployment, sub.deployment_id)
    assert deployment is not None
    stmt = sa.select(ProvisionedEntitlement).where(
        col(ProvisionedEntitlement.deployment_ref) == deployment.external_id
    )
    row = (await db.scalars(stmt.execution_options(populate_existing=True))).first()
    return dict(row.entitlement) if row else None
