"""A subscription per spec row: its deployment, seat usage, add-ons, packs, license and the
billing provider's copy (the local ledger), all consistent with each other."""

from __future__ import annotations

import hashlib
from datetime import date, timedelta
from typing import Any

from pydantic import TypeAdapter

from app.db.tables import (
    AddOnAssignment,
    AddOnPurchase,
    ConsumablePurchase,
    Deployment,
    LedgerSubscription,
    License,
    SeatUsage,
    Subscription,
)
from app.domain.enums import (
    ConsumableKind,
    ProductKind,
    ProvisioningStatus,
    SubscriptionStatus,
    SyncStatus,
)
from app.domain.licenses import ACTIVATION_CODE_ALPHABET, ACTIVATION_CODE_LENGTH
from app.providers.billing.records import SubscriptionItem
from app.providers.billing.records import SubscriptionStatus as LedgerStatus
from app.services import subscription_sync
from app.services.billing import keys
from app.services.demo.context import CURRENCY, World
from app.services.demo.rows import ident
from app.services.demo.specs import ConsumableSpec, SubscriptionSpec, subscription_ref
from app.services.demo.timeline import add_months, scaled
from app.services.numbering import subscription_number

_ITEMS = TypeAdapter(list[SubscriptionItem])


async def add_subscription(world: World, spec: SubscriptionSpec) -> Subscription:
    start, end = spec.term.dates(world.today)
    world.payers[spec.key] = spec.partner or spec.customer
    deployment = await _add_deployment(world, spec, start)
    number = await subscription_number(world.session)
    subscription = _subscription(world, spec, ident(deployment), start, end, number)
    world.session.add(subscription)
    await world.session.flush()
    world.subscriptions[spec.key] = subscription
    world.session.add_all(_seat_usage(world, spec, ident(deployment)))
    if world.ledger:
        world.session.add(_ledger_subscription(world, spec, subscription))
    if subscription.status is not SubscriptionStatus.EXPIRED:
        await _queue_sync(world, subscription)
    world.session.add_all(_consumable(world, item, subscription) for item in spec.consumables)
    if spec.license:
        world.session.add(_license(world, spec, subscription, deployment))
    await _add_add_ons(world, spec, subscription)
    return subscription


async def _add_deployment(world: World, spec: SubscriptionSpec, start: date) -> Deployment:
    trial = spec.status is SubscriptionStatus.TRIAL
    deployment = Deployment(
        customer_id=ident(world.customers[spec.customer]),
        kind=spec.deployment.kind,
        external_id=spec.deployment.external_id,
        name=spec.deployment.name,
        trial_started_on=start if trial else None,
        created_at=world.at(start),
    )
    world.session.add(deployment)
    await world.session.flush()
    return deployment


def _subscription(
    world: World, spec: SubscriptionSpec, deployment_id: int, start: date, end: date, number: str
) -> Subscription:
    return Subscription(
        number=number,
        customer_id=ident(world.customers[spec.customer]),
        deployment_id=deployment_id,
        plan_id=world.product_id(spec.plan),
        billing_account_id=ident(world.paying_account(spec.key)),
        partner_id=world.partner_id(spec.partner),
        channel=spec.channel,
        reconciliation_mode=spec.reconciliation,
        status=spec.status,
        currency=CURRENCY,
        seats=spec.seats,
        seats_in_use=spec.usage[-1] if spec.usage else 0,
        max_seats_used=max(spec.usage, default=0),
        term_start=start,
        term_end=end,
        auto_renew=spec.auto_renew,
        cancel_reason=spec.cancel_reason,
        provider_ref=world.ref(subscription_ref(spec.key)),
        sync_status=SyncStatus.SYNCED,
        provisioning_status=ProvisioningStatus.PROVISIONED,
        created_at=world.at(start),
        updated_at=world.now,
    )


async def _queue_sync(world: World, subscription: Subscription) -> None:
    """The worker's pushes: the CRM's mirror, and the billing sync that creates it at the
    provider (its account too) with the items the local rows hold, unless the local
    ledger's rows were seeded with it. A term already over (in grace) has no copy there:
    Stripe cannot anchor one."""
    key = keys.seeded_sync(ident(subscription))
    if world.ledger or subscription.term_end <= world.today:
        await subscription_sync.queue_crm(world.session, ident(subscription), key, now=world.now)
        return
    payload = {"subscription_id": ident(subscription)}
    await subscription_sync.queue(world.session, payload, key, now=world.now)


def _seat_usage(world: World, spec: SubscriptionSpec, deployment_id: int) -> list[SeatUsage]:
    first = world.today - timedelta(days=len(spec.usage) - 1)
    days = [first + timedelta(days=offset) for offset in range(len(spec.usage))]
    return [
        SeatUsage(
            deployment_id=deployment_id,
            reported_on=day,
            billable_users=users,
            max_billable_users=users,
            reported_at=world.at(day),
        )
        for day, users in zip(days, spec.usage, strict=True)
    ]


async def _add_add_ons(world: World, spec: SubscriptionSpec, subscription: Subscription) -> None:
    for add_on in spec.add_ons:
        purchased = world.at(add_on.purchased.on(world.today, subscription.term_start))
        purchase = AddOnPurchase(
            subscription_id=ident(subscription),
            product_id=world.product_id(add_on.product),
            quantity=add_on.quantity,
            provider_ref=world.ref(f"{subscription_ref(spec.key)}_{add_on.product}"),
            created_at=purchased,
        )
        world.session.add(purchase)
        await world.session.flush()
        world.session.add_all(
            AddOnAssignment(add_on_purchase_id=ident(purchase), user_id=user, assigned_at=purchased)
            for user in add_on.assignees
        )


def _consumable(
    world: World, spec: ConsumableSpec, subscription: Subscription
) -> ConsumablePurchase:
    product = world.products[spec.product]
    purchased = spec.purchased.on(world.today, subscription.term_start)
    one_time = product.kind is ProductKind.ONE_TIME_PACK
    expires = add_months(purchased, product.validity_months or 12) if one_time else None
    full_price = spec.packs * world.prices[spec.product]
    term_days = (subscription.term_end - subscription.term_start).days
    remaining = (subscription.term_end - purchased).days
    return ConsumablePurchase(
        subscription_id=ident(subscription),
        product_id=ident(product),
        kind=ConsumableKind.COMPUTE_MINUTES if one_time else ConsumableKind.STORAGE,
        packs=spec.packs,
        units=spec.packs * (product.pack_units or 0),
        units_used=spec.units_used,
        amount=full_price if one_time else scaled(full_price, remaining, term_days),
        currency=CURRENCY,
        purchased_on=purchased,
        expires_on=expires or subscription.term_end,
    )


def _license(
    world: World, spec: SubscriptionSpec, subscription: Subscription, deployment: Deployment
) -> License:
    """An activated license that synced today (its signed key is left to the license
    service), or one whose instance has not activated it yet."""
    code = activation_code(spec.key)
    if not spec.license_activated:
        return License(subscription_id=ident(subscription), activation_code=code)
    return License(
        subscription_id=ident(subscription),
        activation_code=code,
        instance_id=deployment.external_id,
        activated_at=world.at(subscription.term_start),
        billable_users=spec.usage[-1],
        max_historical_users=max(spec.usage),
        last_synced_at=world.now,
    )


def activation_code(key: str) -> str:
    """A stable code in the codes' alphabet (no 0/O, 1/I): the same every time it is seeded,
    so the docs can show one. 32 symbols divide 256, so every symbol is equally likely."""
    digest = hashlib.sha256(f"demo-license:{key}".encode()).digest()
    return "".join(ACTIVATION_CODE_ALPHABET[byte % 32] for byte in digest[:ACTIVATION_CODE_LENGTH])


def _ledger_subscription(
    world: World, spec: SubscriptionSpec, subscription: Subscription
) -> LedgerSubscription:
    renews = spec.auto_renew and spec.status is not SubscriptionStatus.EXPIRED
    return LedgerSubscription(
        ref=subscription.provider_ref or "",
        account_ref=world.paying_account(spec.key).provider_ref or "",
        status=LedgerStatus.ACTIVE if renews else LedgerStatus.CANCELLED,
        term_start=subscription.term_start,
        term_end=subscription.term_end,
        auto_renew=spec.auto_renew,
        items=_items(world, spec),
    )


def _items(world: World, spec: SubscriptionSpec) -> list[dict[str, Any]]:
    """The recurring charges: the plan, each add-on, each recurring pack."""
    charges = [(spec.plan, spec.seats)]
    charges += [(add_on.product, add_on.quantity) for add_on in spec.add_ons]
    charges += [
        (pack.product, pack.packs)
        for pack in spec.consumables
        if world.products[pack.product].kind is ProductKind.RECURRING_PACK
    ]
    items = [SubscriptionItem(code, quantity, world.prices[code]) for code, quantity in charges]
    return _ITEMS.dump_python(items, mode="json")  # type: ignore[no-any-return]
