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
from app.db.tables import Customer, Invoice, Partner, Subscription
from app.services.demo.catalog import add_promotions, seed_catalog, usd_prices
from app.services.demo.context import World
from app.services.demo.invoices import add_invoice
from app.services.demo.parties import add_api_tokens, add_customers, add_partners, add_users
from app.services.demo.specs import PartySpec, crm_account_ref, invoice_ref, subscription_ref
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
    subscriptions = await _numbers(
        session, Subscription, {subscription_ref(s.key): s.key for s in SUBSCRIPTIONS}
    )
    if not subscriptions:
        return None
    invoices = await _numbers(session, Invoice, {invoice_ref(i.key): i.key for i in INVOICES})
    return DemoSummary(
        created=created,
        partners=await _count(session, col(Partner.crm_ref), PARTNERS),
        customers=await _count(session, col(Customer.crm_ref), CUSTOMERS),
        subscriptions=len(subscriptions),
        invoices=len(invoices),
        subscription_numbers=subscriptions,
        invoice_numbers=invoices,
    )


async def _numbers(
    session: AsyncSession, table: type[Subscription] | type[Invoice], keys: dict[str, str]
) -> dict[str, str]:
    """Spec key -> stored number, for the rows whose provider refs are the demo's."""
    stmt = sa.select(col(table.provider_ref), col(table.number)).where(
        col(table.provider_ref).in_(list(keys))
    )
    rows = (await session.execute(stmt)).all()
    found = {keys[ref]: number for ref, number in rows if ref is not None}
    return {key: found[key] for key in keys.values() if key in found}


async def _count(session: AsyncSession, crm_ref: Any, specs: Sequence[PartySpec]) -> int:
    refs = [crm_account_ref(spec.key) for spec in specs]
    stmt = sa.select(sa.func.count()).where(crm_ref.in_(refs))
    return int(await session.scalar(stmt) or 0)
