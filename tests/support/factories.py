"""Factories with overrides: each test builds exactly the rows it needs."""

from __future__ import annotations

import itertools
from datetime import date
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel

from app.db.tables import (
    AddOnPurchase,
    BillingAccount,
    Customer,
    Deployment,
    Invoice,
    InvoiceLine,
    Membership,
    Partner,
    PortalUser,
    Product,
    SeatUsage,
    Subscription,
)
from app.domain.enums import (
    Channel,
    DeploymentKind,
    InvoiceLineKind,
    InvoiceStatus,
    MemberRole,
    ReconciliationMode,
    SubscriptionStatus,
)
from app.services.demo.catalog import seed_catalog

T = TypeVar("T", bound=SQLModel)
_seq = itertools.count(1)


def _next() -> int:
    return next(_seq)


async def add(db: AsyncSession, row: T) -> T:
    db.add(row)
    await db.flush()
    return row


async def catalog(db: AsyncSession) -> dict[str, Product]:
    """The demo catalog of docs/domain.md section 2 (created once per test transaction)."""
    return await seed_catalog(db)


async def partner(db: AsyncSession, **overrides: Any) -> Partner:
    return await add(db, Partner(**({"name": f"Partner {_next()}"} | overrides)))


async def customer(db: AsyncSession, **overrides: Any) -> Customer:
    n = _next()
    defaults = {
        "name": f"Customer {n}",
        "email": f"billing{n}@example.com",
        "country": "US",
        "crm_ref": f"crm_{n}",
    }
    return await add(db, Customer(**(defaults | overrides)))


async def user(
    db: AsyncSession,
    member_of: Customer | None = None,
    role: MemberRole = MemberRole.OWNER,
    **overrides: Any,
) -> PortalUser:
    n = _next()
    found = await add(
        db,
        PortalUser(
            **(
                {"external_id": f"user-{n}", "email": f"u{n}@example.com", "name": f"User {n}"}
                | overrides
            )
        ),
    )
    if member_of is not None:
        await add(db, Membership(customer_id=member_of.id, user_id=found.id, role=role))
    return found


async def billing_account(
    db: AsyncSession, owner: Customer | Partner, **overrides: Any
) -> BillingAccount:
    key = "partner_id" if isinstance(owner, Partner) else "customer_id"
    defaults = {
        key: owner.id,
        "name": owner.name,
        "currency": "USD",
        "sold_to_name": owner.name,
        "sold_to_email": "sold@example.com",
        "bill_to_name": owner.name,
        "bill_to_email": "bill@example.com",
        "payment_method": "pm_card_visa",
    }
    return await add(db, BillingAccount(**(defaults | overrides)))


async def deployment(db: AsyncSession, owner: Customer, **overrides: Any) -> Deployment:
    n = _next()
    defaults = {
        "customer_id": owner.id,
        "kind": DeploymentKind.SAAS_NAMESPACE,
        "external_id": f"ns-{n}",
        "name": f"group-{n}",
    }
    return await add(db, Deployment(**(defaults | overrides)))


async def subscription(
    db: AsyncSession,
    owner: Customer,
    plan: str = "premium",
    *,
    account: BillingAccount | None = None,
    **overrides: Any,
) -> Subscription:
    plans = await catalog(db)
    account = account or await billing_account(db, owner)
    where = overrides.pop("deployment", None) or await deployment(db, owner)
    defaults = {
        "number": f"A-S{_next():08d}",
        "customer_id": owner.id,
        "deployment_id": where.id,
        "plan_id": plans[plan].id,
        "billing_account_id": account.id,
        "channel": Channel.WEB_DIRECT,
        "reconciliation_mode": ReconciliationMode.QUARTERLY,
        "status": SubscriptionStatus.ACTIVE,
        "currency": "USD",
        "seats": 10,
        "term_start": date(2026, 1, 1),
        "term_end": date(2027, 1, 1),
    }
    return await add(db, Subscription(**(defaults | overrides)))


async def add_on(
    db: AsyncSession, sub: Subscription, code: str = "duo_pro", quantity: int = 5
) -> AddOnPurchase:
    plans = await catalog(db)
    return await add(
        db, AddOnPurchase(subscription_id=sub.id, product_id=plans[code].id, quantity=quantity)
    )


async def seat_report(db: AsyncSession, sub: Subscription, on: date, users: int) -> SeatUsage:
    return await add(
        db,
        SeatUsage(
            deployment_id=sub.deployment_id,
            reported_on=on,
            billable_users=users,
            max_billable_users=users,
        ),
    )


async def invoice(
    db: AsyncSession, sub: Subscription, amounts: tuple[int, ...] = (348_000,), **overrides: Any
) -> Invoice:
    total = sum(amounts)
    defaults = {
        "number": f"INV-{_next():06d}",
        "customer_id": sub.customer_id,
        "billing_account_id": sub.billing_account_id,
        "subscription_id": sub.id,
        "currency": "USD",
        "subtotal": total,
        "total": total,
        "status": InvoiceStatus.OPEN,
        "issued_on": date(2026, 1, 1),
        "due_on": date(2026, 1, 31),
    }
    found = await add(db, Invoice(**(defaults | overrides)))
    for position, amount in enumerate(amounts, start=1):
        await add(
            db,
            InvoiceLine(
                invoice_id=found.id,
                position=position,
                kind=InvoiceLineKind.CHARGE,
                description=f"Line {position}",
                quantity=1,
                unit_amount=amount,
                amount=amount,
            ),
        )
    return found
