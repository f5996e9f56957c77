"""`seed_demo`: the demo world, loaded once, with dates relative to the clock's today."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.clock import Clock
from app.config import Settings
from app.db.tables import Customer, Deployment, Invoice, Partner, Subscription
from app.services.demo.catalog import add_promotions, seed_catalog, usd_prices
from app.services.demo.context import World
from app.services.demo.invoices import add_invoice
from app.services.demo.parties import add_api_tokens, add_customers, add_partners, add_users
from app.services.demo.specs import PartySpec, crm_account_ref
from app.services.demo.subscriptions import add_subscription
from app.services.demo.world import (
    API_TOKENS,
    CUSTOMERS,
    INVOICES,
    PARTNERS,
    PROMOTIONS,
    SUBSCRIPTIONS,
    USERS,
)

# When the demo parties "signed up": before the oldest term in the data.
_HISTORY = timedelta(days=730)


@dataclass(frozen=True, slots=True)
class DemoSummary:
    """What the demo holds; `created` is False when it was already there."""

    created: bool
    partners: int
    customers: int
    subscriptions: int
    invoices: int
    subscription_numbers: dict[str, str]
    invoice_numbers: dict[str, str]


async def seed_demo(session: AsyncSession, settings: Settings, clock: Clock) -> DemoSummary:
    """Load the catalog and the demo world unless it is there already. Flushes, never commits."""
    if settings.is_production:
        raise RuntimeError("demo data is for development only, never for production")
    products = await seed_catalog(session)
    existing = await summarize(session, created=False)
    if existing is not None:
        return existing
    world = World(
        session=session,
        today=clock.today(),
        now=clock.now(),
        products=products,
        prices=await usd_prices(session, products),
        ledger=settings.billing_provider == "local",
    )
    await _build(world, settings)
    summary = await summarize(session, created=True)
    if summary is None:
        raise RuntimeError("the demo data was not written")
    return summary


async def _build(world: World, settings: Settings) -> None:
    since = world.now - _HISTORY
    await add_partners(world, PARTNERS, since)
    await add_customers(world, CUSTOMERS, since)
    await add_users(world, USERS)
    add_api_tokens(world, settings, API_TOKENS, since)
    for subscription in SUBSCRIPTIONS:
        await add_subscription(world, subscription)
    for invoice in INVOICES:
        await add_invoice(world, invoice)
    add_promotions(world, PROMOTIONS)
    await world.session.flush()


async def summarize(session: AsyncSession, *, created: bool) -> DemoSummary | None:
    """The demo's counts and numbers as stored, or None when no demo data is there."""
    subscriptions = await _subscription_numbers(session)
    if not subscriptions:
        return None
    invoices = await _invoice_numbers(session, subscriptions)
    return DemoSummary(
        created=created,
        partners=await _count(session, col(Partner.crm_ref), PARTNERS),
        customers=await _count(session, col(Customer.crm_ref), CUSTOMERS),
        subscriptions=len(subscriptions),
        invoices=len(invoices),
        subscription_numbers=subscriptions,
        invoice_numbers=invoices,
    )


async def _subscription_numbers(session: AsyncSession) -> dict[str, str]:
    """Spec key -> stored number: the first subscription on each demo deployment (found by
    the deployment, as the provider refs are empty until another provider has the rows)."""
    keys = {spec.deployment.external_id: spec.key for spec in SUBSCRIPTIONS}
    stmt = (
        sa.select(col(Deployment.external_id), col(Subscription.number))
        .join(Deployment, col(Deployment.id) == col(Subscription.deployment_id))
        .where(col(Deployment.external_id).in_(list(keys)))
        .order_by(col(Subscription.id).desc())
    )
    found = {keys[external_id]: number for external_id, number in await session.execute(stmt)}
    return {spec.key: found[spec.key] for spec in SUBSCRIPTIONS if spec.key in found}


async def _invoice_numbers(session: AsyncSession, subscriptions: dict[str, str]) -> dict[str, str]:
    """Spec key -> stored number: a demo subscription's first invoices are the demo's, in
    the order the specs list them (orders invoice after the seed)."""
    stmt = (
        sa.select(col(Subscription.number), col(Invoice.number))
        .join(Subscription, col(Subscription.id) == col(Invoice.subscription_id))
        .where(col(Subscription.number).in_(list(subscriptions.values())))
        .order_by(col(Invoice.id))
    )
    stored: dict[str, list[str]] = {}
    for subscription, number in await session.execute(stmt):
        stored.setdefault(subscription, []).append(number)
    numbers: dict[str, str] = {}
    for spec in INVOICES:
        queue = stored.get(subscriptions.get(spec.subscription, ""), [])
        if queue:
            numbers[spec.key] = queue.pop(0)
    return numbers


async def _count(session: AsyncSession, crm_ref: Any, specs: Sequence[PartySpec]) -> int:
    refs = [crm_account_ref(spec.key) for spec in specs]
    stmt = sa.select(sa.func.count()).where(crm_ref.in_(refs))
    return int(await session.scalar(stmt) or 0)
