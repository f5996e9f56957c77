"""The CRM's mirror of a subscription (CrmSubscription): what the local database owns, copied
for account teams. Built from the local rows at push time (never from the message), so a
retried or late push sends the current state; an upsert by the subscription's number, so
pushing twice is harmless. A customer without a CRM account (`crm_ref`) has no mirror.

The worker's `crm.sync_subscription` handler (queued with every billing sync, see
app/services/subscription_sync.py) calls `push`; the drift job compares `mirrors` with the
CRM's copies."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from app.db.repositories import catalog
from app.db.repositories.common import by_ids
from app.db.tables import Customer, Subscription
from app.db.unit_of_work import unit_of_work
from app.domain.enums import SubscriptionStatus
from app.providers.crm import CrmSubscription
from app.runtime import Runtime


def crm_status(subscription: Subscription) -> str:
    """ "active", "cancelled" (auto-renew off: it runs to its term end) or "expired"."""
    if subscription.status is SubscriptionStatus.EXPIRED:
        return "expired"
    return "active" if subscription.auto_renew else "cancelled"


async def mirrors(
    session: AsyncSession, subscriptions: Sequence[Subscription]
) -> dict[int, CrmSubscription]:
    """The mirror of each subscription whose customer has a CRM account (others are absent),
    in two statements for any number of them."""
    customers = await by_ids(session, Customer, [row.customer_id for row in subscriptions])
    plans = await catalog.products_by_ids(session, [row.plan_id for row in subscriptions])
    found = {}
    for row in subscriptions:
        customer, plan = customers.get(row.customer_id), plans.get(row.plan_id)
        if customer is None or customer.crm_ref is None or plan is None:
            continue
        found[row.id or 0] = CrmSubscription(
            ref=row.number,
            account_ref=customer.crm_ref,
            plan=plan.code,
            seats=row.seats,
            term_start=row.term_start,
            term_end=row.term_end,
            status=crm_status(row),
        )
    return found


async def push(runtime: Runtime, subscription_id: int) -> CrmSubscription | None:
    """Upsert the subscription's current mirror into the CRM; None: it has none (no such
    subscription, or its customer has no CRM account)."""
    async with unit_of_work(runtime.sessions, write=False) as session:
        row = await session.get(Subscription, subscription_id)
        mirror = None if row is None else (await mirrors(session, [row])).get(subscription_id)
    if mirror is None:
        return None
    return await runtime.providers.crm.upsert_subscription(mirror)
