"""Customers, their memberships, deployments, billing accounts and partners."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.db.pagination import Page, PageRequest, fetch_page
from app.db.repositories.common import by_ids, children
from app.db.scope import ReadScope
from app.db.tables import BillingAccount, Customer, Deployment, Partner, Subscription


async def list_customers(
    session: AsyncSession, scope: ReadScope, page: PageRequest, search: str | None
) -> Page[Customer]:
    stmt = sa.select(Customer).where(scope.customers())
    if search:
        stmt = stmt.where(_matches(search.strip()))
    return await fetch_page(session, stmt, Customer.id, page)


def _matches(term: str) -> sa.ColumnElement[bool]:
    """Name or email contains the term; or a subscription number / namespace is exactly it."""
    pattern = f"%{term.lower()}%"
    by_subscription = sa.select(col(Subscription.customer_id)).where(
        col(Subscription.number) == term.upper()
    )
    by_deployment = sa.select(col(Deployment.customer_id)).where(
        sa.or_(col(Deployment.external_id) == term, sa.func.lower(Deployment.name) == term.lower())
    )
    return sa.or_(
        sa.func.lower(Customer.name).like(pattern),
        sa.func.lower(Customer.email).like(pattern),
        col(Customer.id).in_(by_subscription),
        col(Customer.id).in_(by_deployment),
    )


async def customers_by_ids(
    session: AsyncSession, scope: ReadScope, ids: Sequence[int]
) -> dict[int, Customer]:
    return await by_ids(session, Customer, ids, scope.customers())


async def deployments_by_ids(
    session: AsyncSession, scope: ReadScope, ids: Sequence[int]
) -> dict[int, Deployment]:
    return await by_ids(session, Deployment, ids, scope.deployments())


async def deployments_by_customer(
    session: AsyncSession, scope: ReadScope, customer_ids: Sequence[int]
) -> dict[int, list[Deployment]]:
    return await children(
        session, Deployment, Deployment.customer_id, customer_ids, scope.deployments()
    )


async def billing_accounts_by_ids(
    session: AsyncSession, scope: ReadScope, ids: Sequence[int]
) -> dict[int, BillingAccount]:
    return await by_ids(session, BillingAccount, ids, scope.billing_accounts())


async def billing_accounts_by_customer(
    session: AsyncSession, scope: ReadScope, customer_ids: Sequence[int]
) -> dict[int, list[BillingAccount]]:
    return await children(
        session,
        BillingAccount,
        BillingAccount.customer_id,
        customer_ids,
        scope.billing_accounts(),
    )


async def partners_by_ids(session: AsyncSession, ids: Sequence[int]) -> dict[int, Partner]:
    """Partners are reached only through an object already checked (never by a client id)."""
    return await by_ids(session, Partner, ids)
