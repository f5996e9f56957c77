"""Provisioning (docs/domain.md section 8): tell the product what a deployment is entitled to.

The entitlement is built from the local database at push time (never from the message that
asked for it), so a retried or late push sends the deployment's current state, and a push
is an idempotent upsert at the target. The worker runs it from the outbox (topic
`provisioning.push`) and mirrors the outcome on `Subscription.provisioning_status`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from app.db.repositories import catalog, lifecycle, orders
from app.db.repositories import subscriptions as repo
from app.db.tables import AddOnPurchase, ConsumablePurchase, Deployment, Product, Subscription
from app.db.unit_of_work import unit_of_work
from app.domain.enums import ConsumableKind, ProvisioningStatus, SubscriptionStatus
from app.providers.provisioning import Entitlement, ProvisioningResult
from app.runtime import Runtime


class SubscriptionGone(LookupError):
    """The subscription (or its deployment or plan) a message names does not exist."""


async def current_entitlement(
    session: AsyncSession, subscription_id: int, today: date
) -> Entitlement:
    """What the subscription's deployment is entitled to today: plan, seats, term, seat
    add-ons, unused minutes of unexpired compute packs, and storage co-termed with the term."""
    subscription = await session.get(Subscription, subscription_id)
    if subscription is None:
        raise SubscriptionGone(f"subscription {subscription_id} does not exist")
    if subscription.status is SubscriptionStatus.EXPIRED:
        return await _after_expiry(session, subscription, today)
    deployment = await session.get(Deployment, subscription.deployment_id)
    add_ons = (await repo.add_ons_by_subscription(session, [subscription_id]))[subscription_id]
    packs = (await repo.consumables_by_subscription(session, [subscription_id]))[subscription_id]
    products = await catalog.products_by_ids(
        session, [subscription.plan_id, *(a.product_id for a in add_ons)]
    )
    plan = products.get(subscription.plan_id)
    if deployment is None or plan is None:
        raise SubscriptionGone(f"subscription {subscription_id} has no deployment or plan")
    held = await repo.holders_by_add_on(session, [a.id for a in add_ons if a.id is not None])
    return Entitlement(
        deployment_ref=deployment.external_id,
        plan_code=plan.code,
        seats=subscription.seats + subscription.comp_seats,  # staff's comp seats are granted
        term_start=subscription.term_start,
        term_end=subscription.term_end,
        add_ons=_add_on_quantities(products, [(a.product_id, a.quantity) for a in add_ons]),
        compute_minutes=compute_minutes_remaining(packs, today),
        storage_gib=storage_gib(packs, subscription.term_end),
        add_on_holders=_add_on_holders(products, add_ons, held),
    )


async def _after_expiry(
    session: AsyncSession, subscription: Subscription, today: date
) -> Entitlement:
    """An expired subscription leaves its deployment on Free: no live subscription, so the
    Free plan is pushed (no seats, add-ons or storage; unexpired compute packs stay). If the
    deployment has a live subscription again, that one's entitlement is pushed instead, so a
    late push of the expired one never overwrites it."""
    live = await orders.live_subscription_on(session, subscription.deployment_id)
    if live is not None and live.id is not None:
        return await current_entitlement(session, live.id, today)
    deployment = await session.get(Deployment, subscription.deployment_id)
    free = await lifecycle.free_plan(session)
    if deployment is None or free is None:
        raise SubscriptionGone(f"subscription {subscription.id} has no deployment or Free plan")
    packs = (await repo.consumables_by_subscription(session, [subscription.id or 0]))[
        subscription.id or 0
    ]
    return Entitlement(
        deployment_ref=deployment.external_id,
        plan_code=free.code,
        seats=0,
        term_start=subscription.term_start,
        term_end=subscription.term_end,
        compute_minutes=compute_minutes_remaining(packs, today),
    )


def _add_on_quantities(
    products: dict[int, Product], held: Sequence[tuple[int, int]]
) -> tuple[tuple[str, int], ...]:
    totals: dict[str, int] = {}
    for product_id, quantity in held:
        code = products[product_id].code
        totals[code] = totals.get(code, 0) + quantity
    return tuple(totals.items())


def _add_on_holders(
    products: dict[int, Product], add_ons: Sequence[AddOnPurchase], held: dict[int, list[str]]
) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """Per add-on code, the user ids holding its seats (over all purchases of the code)."""
    by_code: dict[str, set[str]] = {}
    for add_on in add_ons:
        by_code.setdefault(products[add_on.product_id].code, set()).update(
            held.get(add_on.id or 0, ())
        )
    return tuple((code, tuple(ids)) for code, ids in by_code.items())


def compute_minutes_remaining(packs: Sequence[ConsumablePurchase], today: date) -> int:
    """Unused minutes of the compute packs still valid today (a pack ends on `expires_on`)."""
    return sum(
        pack.units - pack.units_used
        for pack in packs
        if pack.kind is ConsumableKind.COMPUTE_MINUTES and pack.expires_on > today
    )


def storage_gib(packs: Sequence[ConsumablePurchase], term_end: date) -> int:
    """GiB of the storage packs co-termed with the current term (`units` = packs x pack_units)."""
    return sum(
        pack.units
        for pack in packs
        if pack.kind is ConsumableKind.STORAGE and pack.expires_on == term_end
    )


async def push_current(
    runtime: Runtime, subscription_id: int, *, idempotency_key: str
) -> ProvisioningResult:
    """Read the entitlement in a short read-only transaction, then push it with no
    transaction open (the target may be slow, and the local one writes on its own)."""
    async with unit_of_work(runtime.sessions, write=False) as session:
        entitlement = await current_entitlement(session, subscription_id, runtime.clock.today())
    return await runtime.providers.provisioning.push(entitlement, idempotency_key=idempotency_key)


async def set_status(
    session: AsyncSession, subscription_id: int, status: ProvisioningStatus
) -> None:
    """Only this column is written, so a concurrent order's changes are not overwritten."""
    subscription = await session.get(Subscription, subscription_id)
    if subscription is not None:
        subscription.provisioning_status = status
