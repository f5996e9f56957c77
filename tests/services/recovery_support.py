"""Helpers of the order recovery tests: a customer's owner placing orders through the order
service, billing providers that fail at chosen points, and what the ledger holds."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from app.auth.principals import Principal, PrincipalKind
from app.clock import FixedClock
from app.config import Settings
from app.db.tables import (
    AuditEvent,
    Invoice,
    LedgerInvoice,
    LedgerPayment,
    LedgerRefund,
    Order,
    Payment,
    Renewal,
    Subscription,
)
from app.domain.enums import MemberRole
from app.domain.lifecycle import RenewalStatus
from app.domain.pricing import OrderAction
from app.providers.errors import ProviderUnavailable
from app.providers.registry import build_providers
from app.runtime import Runtime, build_runtime
from app.services.orders.context import OrderDeps
from app.services.orders.placing import PlacedOrder, place_order
from app.services.orders.quoting import quote_order
from app.services.orders.requests import OrderRequest
from tests.support import factories as f


@dataclass(frozen=True)
class Buyer:
    principal: Principal
    subscription: Subscription


async def buyer(db: AsyncSession, seats: int = 10) -> Buyer:
    customer = await f.customer(db)
    owner = await f.user(db, member_of=customer)
    sub = await f.subscription(db, customer, seats=seats, seats_in_use=8, max_seats_used=8)
    principal = Principal(
        kind=PrincipalKind.CUSTOMER_USER,
        id=owner.external_id,
        name=owner.name,
        user_id=owner.id,
        roles={customer.id or 0: MemberRole.OWNER},
    )
    return Buyer(principal, sub)


def local_runtime(
    settings: Settings, sessions: async_sessionmaker[AsyncSession], clock: FixedClock
) -> Runtime:
    """A runtime on the test's sessions and clock, with the local providers."""
    providers = build_providers(settings, sessions, clock)
    return build_runtime(settings, sessions=sessions, clock=clock, providers=providers)


async def renewal_in_doubt(db: AsyncSession, sub: Subscription, at: datetime) -> Renewal:
    """The subscription's automatic renewal, its charge not settled: orders wait for it."""
    renewal = Renewal(
        subscription_id=sub.id or 0,
        term_start=sub.term_end,
        term_end=sub.term_end.replace(year=sub.term_end.year + 1),
        status=RenewalStatus.PENDING,
        plan_id=sub.plan_id,
        seats=sub.seats,
        created_at=at,
    )
    db.add(renewal)
    await db.flush()
    return renewal


def deps_of(runtime: Runtime) -> OrderDeps:
    return OrderDeps(
        runtime.sessions,
        runtime.providers.billing,
        runtime.clock,
        runtime.settings,
        tax=runtime.providers.tax,
    )


async def quote(
    runtime: Runtime, who: Buyer, *actions: OrderAction, promo: str | None = None
) -> str:
    sub = who.subscription
    request = OrderRequest(sub.customer_id, sub.id, None, actions, promo_code=promo)
    async with runtime.sessions() as session:
        quoted = await quote_order(
            session,
            who.principal,
            request,
            clock=runtime.clock,
            settings=runtime.settings,
            taxes=runtime.providers.tax,
        )
    return quoted.token


async def place(runtime: Runtime, who: Buyer, token: str, key: str) -> PlacedOrder:
    return await place_order(deps_of(runtime), who.principal, token, key)


class Failing:
    """The real provider, with one failure armed: `after` raises once the named call went
    through (the charge is made and its answer lost), `before` raises instead of calling."""

    def __init__(
        self, inner: Any, *, after: str | None = None, before: str | None = None, error: Any
    ) -> None:
        self.inner, self.after, self.before, self.error = inner, after, before, error

    def __getattr__(self, name: str) -> Any:
        call = getattr(self.inner, name)
        if name not in (self.after, self.before):
            return call

        async def failing(*args: Any, **kwargs: Any) -> Any:
            if name == self.before:
                self.before = None
                raise self.error
            await call(*args, **kwargs)
            self.after = None
            raise self.error

        return failing


def crash() -> BaseException:
    """What the order code sees when its request is cut (the task cancelled)."""
    return asyncio.CancelledError()


def timeout() -> ProviderUnavailable:
    return ProviderUnavailable("local", "timed out reading the answer")


async def order_of(db: AsyncSession, key: str) -> Order:
    stmt = sa.select(Order).where(col(Order.idempotency_key) == key)
    return (await db.scalars(stmt.execution_options(populate_existing=True))).one()


async def invoice_of(db: AsyncSession, order: Order) -> Invoice:
    stmt = sa.select(Invoice).where(col(Invoice.order_id) == order.id)
    return (await db.scalars(stmt.execution_options(populate_existing=True))).one()


async def ledger_payments(db: AsyncSession) -> list[tuple[str, int, str]]:
    stmt = sa.select(LedgerPayment).order_by(col(LedgerPayment.id))
    return [(p.invoice_ref, p.amount, p.status) for p in (await db.scalars(stmt)).all()]


async def ledger_refunds(db: AsyncSession) -> list[tuple[str, str, int]]:
    stmt = sa.select(LedgerRefund).order_by(col(LedgerRefund.id))
    return [(r.ref, r.payment_ref, r.amount) for r in (await db.scalars(stmt)).all()]


async def ledger_invoices(db: AsyncSession) -> list[tuple[str, int, str]]:
    stmt = sa.select(LedgerInvoice).order_by(col(LedgerInvoice.id))
    rows = (await db.scalars(stmt.execution_options(populate_existing=True))).all()
    return [(i.ref, i.total, i.status) for i in rows]


async def local_payments(db: AsyncSession, invoice: Invoice) -> list[tuple[int, str, str | None]]:
    stmt = sa.select(Payment).where(col(Payment.invoice_id) == invoice.id)
    return [(p.amount, p.status.value, p.provider_ref) for p in (await db.scalars(stmt)).all()]


async def order_audit(db: AsyncSession, order: Order) -> list[tuple[str, str]]:
    """The order's audit rows (action, actor), oldest first."""
    stmt = (
        sa.select(col(AuditEvent.action), col(AuditEvent.actor_id))
        .where(col(AuditEvent.target_type) == "Order", col(AuditEvent.target_id) == str(order.id))
        .order_by(col(AuditEvent.id))
    )
    return [(action, actor) for action, actor in (await db.execute(stmt)).all()]
