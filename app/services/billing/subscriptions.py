"""Billing sync: make the billing provider's subscription match the local one.

The local subscription owns what is sold (plan, seats, add-ons, co-termed storage packs,
auto-renew); the provider's copy carries the recurring charges. A subscription the provider
does not know yet (no `provider_ref`) is created there, its paying account too if needed; a
known one is read back and, where it differs, amended to the current items from today on
(or, when the local term starts where the provider's ends, renewed into the new term), and
cancelled or reactivated to match auto-renew. The local state is read at sync time, so
a retried or late message sends the current state. Items are priced at the catalog's price
per term in the subscription's currency.

Idempotency keys (app/services/billing/keys.py): the provider account and subscription are
created once per local row (`keys.account`, shared with orders and charges;
`keys.subscription_create`), and the new ref is stored at once; an amendment's key is the
message's key plus a digest of the request, so a retry of the same request is replayed,
and a request made different by a change in between is a new (full-replacement, hence
harmless) amendment. Before an amendment, a provider that prorates on its own side
(`AmendmentPreview`, Zuora) is asked for its figure; when it differs from the domain's
(`amendment_charge`) by a cent, the amendment is refused with
`ProviderRejected(code="proration_mismatch")` and logged with both amounts, and nothing is
written: the local invoice already charged the domain's amount. The worker's
`billing.sync_subscription` handler calls `sync`, then records the outcome with `record_ref`
or `set_sync_status`.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from app.db.repositories import catalog
from app.db.repositories import subscriptions as repo
from app.db.repositories.common import by_ids
from app.db.tables import (
    BillingAccount,
    ConsumablePurchase,
    Price,
    Product,
    Renewal,
    Subscription,
)
from app.db.unit_of_work import unit_of_work
from app.domain.enums import ConsumableKind, SyncStatus
from app.domain.pricing.amendments import amendment_charge
from app.providers.billing import (
    AmendmentPreview,
    BillingProvider,
    BillingSubscriptionRecord,
    SubscriptionItem,
)
from app.providers.errors import ProviderRejected
from app.runtime import Runtime
from app.services.billing import keys
from app.services.billing.accounts import provider_account

logger = logging.getLogger(__name__)


class NotSyncable(LookupError):
    """The subscription (or its account, or a price of what it holds) is not there: retrying
    cannot help."""


@dataclass(frozen=True, slots=True)
class LocalState:
    subscription: Subscription
    account: BillingAccount
    items: tuple[SubscriptionItem, ...]


async def sync(runtime: Runtime, subscription_id: int, *, idempotency_key: str) -> str:
    """Create the provider's subscription, or bring its items and auto-renew in line with
    the local row (only what differs is sent); return its ref."""
    async with unit_of_work(runtime.sessions, write=False) as session:
        state = await local_state(session, subscription_id)
    subscription, billing = state.subscription, runtime.providers.billing
    ref = subscription.provider_ref
    if ref is None:
        account_ref = await provider_account(runtime.sessions, billing, state.account)
        created = await billing.create_subscription(
            account_ref,
            subscription.term_start,
            subscription.term_end,
            state.items,
            idempotency_key=keys.subscription_create(subscription_id),
        )
        ref, remote = created.ref, created
        async with unit_of_work(runtime.sessions) as session:
            row = await session.get(Subscription, subscription_id)
            if row is not None and row.provider_ref is None:
                row.provider_ref = ref
    else:
        found = (await billing.get_subscriptions([ref])).get(ref)
        if found is None:
            raise NotSyncable(f"the billing provider has no subscription {ref}")
        remote = found
        if subscription.term_start == remote.term_end:
            # Renewed here (manually, through an order) since the last sync: start the
            # provider's next term; it takes no amendments to a term that has ended.
            remote = await start_term(
                billing,
                ref,
                subscription,
                state.items,
                key=keys.subscription_term(subscription_id, subscription.term_start),
            )
        elif sorted(remote.items, key=_code) != sorted(state.items, key=_code):
            effective = max(runtime.clock.today(), subscription.term_start)
            await check_proration(billing, remote, state.items, effective)
            key = keys.amendment(idempotency_key, _digest(ref, effective, state.items))
            await billing.amend_subscription(ref, state.items, effective, idempotency_key=key)
    if remote.auto_renew and not subscription.auto_renew:
        await billing.cancel_subscription(ref, idempotency_key=keys.cancel(idempotency_key))
    elif subscription.auto_renew and not remote.auto_renew:
        key = keys.reactivate(idempotency_key)
        await billing.reactivate_subscription(ref, idempotency_key=key)
    return ref


async def check_proration(
    billing: BillingProvider,
    remote: BillingSubscriptionRecord,
    items: tuple[SubscriptionItem, ...],
    effective: date,
) -> None:
    """Refuse an amendment the provider would prorate otherwise than the domain (which the
    customer was quoted and invoiced); a provider without its own proration is not asked."""
    if not isinstance(billing, AmendmentPreview):
        return
    ours = amendment_charge(
        _per_term(remote.items), _per_term(items), effective, remote.term_start, remote.term_end
    )
    theirs = await billing.preview_amendment(remote.ref, items, effective)
    if theirs == ours:
        return
    name = str(getattr(billing, "name", "billing"))
    logger.warning(
        "proration mismatch on %s from %s: provider %d, ours %d (minor units)",
        remote.ref,
        effective.isoformat(),
        theirs,
        ours,
    )
    raise ProviderRejected(
        name,
        "proration_mismatch",
        f"{remote.ref} from {effective.isoformat()}: the provider prorates {theirs}, "
        f"we charged {ours} (minor units); nothing was amended",
    )


def _per_term(items: tuple[SubscriptionItem, ...]) -> dict[str, int]:
    return {item.product_code: item.quantity * item.unit_amount for item in items}


async def start_term(
    billing: BillingProvider,
    ref: str,
    term: Subscription | Renewal,
    items: tuple[SubscriptionItem, ...],
    *,
    key: str,
) -> BillingSubscriptionRecord:
    """Start the provider's next term (it takes no amendments to a term that has ended):
    a term renewed here, by an order (the sync) or the renewal job."""
    return await billing.renew_subscription(
        ref, term.term_start, term.term_end, items, idempotency_key=key
    )


def _code(item: SubscriptionItem) -> str:
    return item.product_code


async def record_ref(
    session: AsyncSession, subscription_id: int, provider_ref: str, *, synced: bool
) -> None:
    """Keep the provider's ref; SYNCED unless a newer sync is still to do."""
    subscription = await session.get(Subscription, subscription_id)
    if subscription is not None:
        subscription.provider_ref = subscription.provider_ref or provider_ref
        if synced:
            subscription.sync_status = SyncStatus.SYNCED


async def set_sync_status(session: AsyncSession, subscription_id: int, status: SyncStatus) -> None:
    subscription = await session.get(Subscription, subscription_id)
    if subscription is not None:
        subscription.sync_status = status


async def local_state(session: AsyncSession, subscription_id: int) -> LocalState:
    subscription = await session.get(Subscription, subscription_id)
    if subscription is None:
        raise NotSyncable(f"subscription {subscription_id} does not exist")
    account = await session.get(BillingAccount, subscription.billing_account_id)
    if account is None:
        raise NotSyncable(f"subscription {subscription_id} has no billing account")
    quantities = (await _quantities(session, [subscription]))[subscription_id]
    catalog_rows = await _catalog(session, [quantities])
    return LocalState(subscription, account, _items(catalog_rows, subscription, quantities))


async def local_states(
    session: AsyncSession, subscriptions: Sequence[Subscription]
) -> dict[int, LocalState]:
    """`local_state` of many subscriptions in a constant number of statements (the drift
    job's batch); one that cannot be synced (no account, a price missing) is absent."""
    ids = [row.id or 0 for row in subscriptions]
    account_ids = [row.billing_account_id for row in subscriptions]
    accounts = await by_ids(session, BillingAccount, account_ids)
    quantities = await _quantities(session, subscriptions)
    catalog_rows = await _catalog(session, list(quantities.values()))
    states = {}
    for row, sid in zip(subscriptions, ids, strict=True):
        account = accounts.get(row.billing_account_id)
        try:
            if account is not None:
                items = _items(catalog_rows, row, quantities[sid])
                states[sid] = LocalState(row, account, items)
        except NotSyncable:
            continue
    return states


Quantities = list[tuple[int, int]]
Catalog = tuple[dict[int, Product], dict[int, list[Price]]]


async def _quantities(
    session: AsyncSession, subscriptions: Sequence[Subscription]
) -> dict[int, Quantities]:
    """What each subscription holds, product by product: the plan, add-ons, storage packs."""
    ids = [row.id or 0 for row in subscriptions]
    add_ons = await repo.add_ons_by_subscription(session, ids)
    packs = await repo.consumables_by_subscription(session, ids)
    found = {}
    for row, sid in zip(subscriptions, ids, strict=True):
        quantities = [(row.plan_id, row.seats)]
        quantities += [(add_on.product_id, add_on.quantity) for add_on in add_ons[sid]]
        quantities += _storage_packs(packs[sid], row.term_end)
        found[sid] = quantities
    return found


def _storage_packs(packs: list[ConsumablePurchase], term_end: date) -> Quantities:
    """Storage packs co-termed with the current term recur with it; compute packs do not."""
    return [
        (pack.product_id, pack.packs)
        for pack in packs
        if pack.kind is ConsumableKind.STORAGE and pack.expires_on == term_end
    ]


async def _catalog(session: AsyncSession, held: Sequence[Quantities]) -> Catalog:
    product_ids = sorted({product_id for each in held for product_id, _ in each})
    products = await catalog.products_by_ids(session, product_ids)
    prices = await catalog.prices_by_product(session, product_ids)
    return products, prices


def _items(
    catalog_rows: Catalog, subscription: Subscription, quantities: Quantities
) -> tuple[SubscriptionItem, ...]:
    """One item per product (quantities of the same product added), priced per term in the
    subscription's currency, in the order first seen (the plan first)."""
    products, prices = catalog_rows
    currency = subscription.currency
    totals: dict[int, int] = {}
    for product_id, quantity in quantities:
        totals[product_id] = totals.get(product_id, 0) + quantity
    items = []
    for product_id, quantity in totals.items():
        product = products.get(product_id)
        price = next((p for p in prices.get(product_id, []) if p.currency == currency), None)
        if product is None or price is None:
            raise NotSyncable(f"product {product_id} has no price in {currency}")
        items.append(SubscriptionItem(product.code, quantity, price.amount))
    return tuple(items)


def _digest(ref: str, effective: date, items: tuple[SubscriptionItem, ...]) -> str:
    lines = [[item.product_code, item.quantity, item.unit_amount] for item in items]
    request = [ref, effective.isoformat(), lines]
    return hashlib.sha256(json.dumps(request).encode()).hexdigest()[:16]
