"""Per-request DataLoaders: every relationship and provider lookup is batched here, so the
number of statements for a query does not grow with the length of its lists. Each loader is
typed with its key and value (`DataLoader[int, tables.Customer | None]`)."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import tables
from app.db.pagination import Page, PageRequest
from app.db.repositories import (
    catalog,
    customers,
    drift,
    dunning,
    history,
    invoices,
    outbox,
    people,
    subscriptions,
)
from app.db.repositories.history import HistoryPage
from app.db.repositories.usage import SeatUsagePoint
from app.db.scope import ReadScope
from app.domain.history import Position
from app.providers.crm import CrmAccount
from app.providers.errors import ProviderError
from app.services.outbox import PROVISION
from resolvers import usage
from resolvers.dataloader import Cache, DataLoader

if TYPE_CHECKING:
    from resolvers.context import RequestContext

V = TypeVar("V")
D = TypeVar("D")

# Repository batch reads: the values of the keys found (a key not found is absent).
Fetch = Callable[[AsyncSession, Sequence[int]], Awaitable[Mapping[int, V]]]
ScopedFetch = Callable[[AsyncSession, ReadScope, Sequence[int]], Awaitable[Mapping[int, V]]]
PageFetch = Callable[
    [AsyncSession, ReadScope, Sequence[int], PageRequest], Awaitable[Mapping[int, Page[V]]]
]
PageKey = tuple[int, PageRequest]


class _KeptFirst(Cache[int, V]):
    """The request's loader cache, answering from the process's kept rows first."""

    def __init__(self, kept: Mapping[int, V]) -> None:
        super().__init__()
        self._kept = kept

    def get(self, key: int) -> asyncio.Future[V] | None:
        found = super().get(key)
        if found is None and key in self._kept:
            found = asyncio.get_running_loop().create_future()
            found.set_result(self._kept[key])
            self.set(key, found)
        return found


class Loaders:
    def __init__(self, ctx: RequestContext) -> None:
        self._ctx = ctx

    def _scope(self, fetch: ScopedFetch[V]) -> Fetch[V]:
        """`fetch` within the caller's read scope."""
        return lambda session, keys: fetch(session, self._ctx.scope, keys)

    def _one(self, fetch: Fetch[V]) -> DataLoader[int, V | None]:
        """The value of each key; None for a key not found."""

        async def load(keys: list[int]) -> list[V | None]:
            found = await self._ctx.read(lambda s: fetch(s, keys))
            return [found.get(key) for key in keys]

        return DataLoader(load)

    def _or(self, fetch: Fetch[V], default: Callable[[], V]) -> DataLoader[int, V]:
        """The value of each key; `default()` for a key not found (an empty list, zero)."""

        async def load(keys: list[int]) -> list[V]:
            found = await self._ctx.read(lambda s: fetch(s, keys))
            return [found[key] if key in found else default() for key in keys]

        return DataLoader(load)

    def _pages(self, fetch: PageFetch[V]) -> DataLoader[PageKey, Page[V]]:
        """Keys are (parent id, page request); parents asking for the same page share a query."""

        async def load(keys: list[PageKey]) -> list[Page[V]]:
            by_request: dict[PageRequest, list[int]] = defaultdict(list)
            for parent_id, request in keys:
                by_request[request].append(parent_id)
            found: dict[PageKey, Page[V]] = {}
            for request, parents in by_request.items():
                pages = await self._ctx.read(_page_read(fetch, self._ctx.scope, parents, request))
                found.update({(parent, request): page for parent, page in pages.items()})
            return [found[key] for key in keys]

        return DataLoader(load)

    @cached_property
    def customer(self) -> DataLoader[int, tables.Customer | None]:
        return self._one(self._scope(customers.customers_by_ids))

    @cached_property
    def deployment(self) -> DataLoader[int, tables.Deployment | None]:
        return self._one(self._scope(customers.deployments_by_ids))

    @cached_property
    def deployments_by_customer(self) -> DataLoader[int, list[tables.Deployment]]:
        return self._or(self._scope(customers.deployments_by_customer), list)

    @cached_property
    def billing_account(self) -> DataLoader[int, tables.BillingAccount | None]:
        return self._one(self._scope(customers.billing_accounts_by_ids))

    @cached_property
    def billing_accounts_by_customer(self) -> DataLoader[int, list[tables.BillingAccount]]:
        return self._or(self._scope(customers.billing_accounts_by_customer), list)

    @cached_property
    def members_by_customer(
        self,
    ) -> DataLoader[int, list[tuple[tables.Membership, tables.PortalUser]]]:
        """(membership, portal user) pairs; the field checks who may read them."""
        return self._or(people.members_of, list)

    @cached_property
    def partner(self) -> DataLoader[int, tables.Partner | None]:
        return self._one(customers.partners_by_ids)

    @cached_property
    def subscription(self) -> DataLoader[int, tables.Subscription | None]:
        return self._one(self._scope(subscriptions.subscriptions_by_ids))

    @cached_property
    def subscription_pages_by_customer(self) -> DataLoader[PageKey, Page[tables.Subscription]]:
        return self._pages(subscriptions.subscription_pages_by_customer)

    @cached_property
    def add_on(self) -> DataLoader[int, tables.AddOnPurchase | None]:
        return self._one(self._scope(subscriptions.add_ons_by_ids))

    @cached_property
    def add_ons_by_subscription(self) -> DataLoader[int, list[sa.Row[Any]]]:
        """Add-on purchase rows (the table's columns) of each subscription."""
        return self._or(subscriptions.add_on_rows_by_subscription, list)

    @cached_property
    def assignment_count(self) -> DataLoader[int, int]:
        return self._or(subscriptions.assignment_counts, int)

    @cached_property
    def assignment_pages(self) -> DataLoader[PageKey, Page[Any]]:
        return self._pages(subscriptions.assignment_pages)

    @cached_property
    def drift_findings_by_subscription(self) -> DataLoader[int, list[tables.DriftFinding]]:
        return self._or(drift.findings_by_subscription, list)

    @cached_property
    def consumables_by_subscription(self) -> DataLoader[int, list[tables.ConsumablePurchase]]:
        return self._or(subscriptions.consumables_by_subscription, list)

    @cached_property
    def licenses_by_subscription(self) -> DataLoader[int, list[tables.License]]:
        return self._or(subscriptions.licenses_by_subscription, list)

    @cached_property
    def seat_usage_pages(self) -> DataLoader[usage.SeatUsageKey, Page[SeatUsagePoint]]:
        return usage.seat_usage_loader(self._ctx)

    @cached_property
    def compute_month(self) -> DataLoader[int, tables.ComputeUsageMonth | None]:
        return usage.compute_month_loader(self._ctx)

    @cached_property
    def provisioning_message(self) -> DataLoader[int, tables.OutboxMessage | None]:
        """Each subscription's latest provisioning outbox message (None: never queued)."""
        return self._one(lambda s, ids: outbox.latest_by_subscription(s, PROVISION, ids))

    @cached_property
    def invoice(self) -> DataLoader[int, tables.Invoice | None]:
        return self._one(self._scope(invoices.invoices_by_ids))

    @cached_property
    def invoice_pages_by_customer(self) -> DataLoader[PageKey, Page[tables.Invoice]]:
        return self._pages(
            lambda s, scope, ids, page: invoices.invoice_pages_by(s, scope, "customer", ids, page)
        )

    @cached_property
    def invoice_pages_by_subscription(self) -> DataLoader[PageKey, Page[tables.Invoice]]:
        return self._pages(
            lambda s, scope, ids, page: invoices.invoice_pages_by(
                s, scope, "subscription", ids, page
            )
        )

    @cached_property
    def history_pages(self) -> DataLoader[tuple[int, int, Position | None], HistoryPage]:
        """Keys are (subscription id, page size, cursor); subscriptions asking for the same
        page (a list's first pages) share one statement per source."""

        async def load(keys: list[tuple[int, int, Position | None]]) -> list[HistoryPage]:
            groups: dict[tuple[int, Position | None], list[int]] = defaultdict(list)
            for sid, first, after in keys:
                groups[(first, after)].append(sid)
            found: dict[tuple[int, int, Position | None], HistoryPage] = {}
            for (first, after), ids in groups.items():
                pages = await self._ctx.read(_history_read(ids, first, after))
                found |= {(sid, first, after): page for sid, page in pages.items()}
            return [found[key] for key in keys]

        return DataLoader(load)

    @cached_property
    def lines_by_invoice(self) -> DataLoader[int, list[sa.Row[Any]]]:
        """Invoice line rows (the table's columns) of each invoice, in position order."""
        return self._or(invoices.line_rows_by_invoice, list)

    @cached_property
    def payments_by_invoice(self) -> DataLoader[int, list[tables.Payment]]:
        return self._or(invoices.payments_by_invoice, list)

    @cached_property
    def credit_notes_by_invoice(self) -> DataLoader[int, list[tables.CreditNote]]:
        return self._or(invoices.credit_notes_by_invoice, list)

    @cached_property
    def dunning_by_subscription(self) -> DataLoader[int, dunning.Collected]:
        return self._or(dunning.collection_by_subscription, lambda: ([], None))

    def _kept(
        self, fetch: Fetch[V], kept: dict[int, V], default: Callable[[], D]
    ) -> DataLoader[int, V | D]:
        """Immutable rows the process keeps (app.db.catalog_cache): a kept key is ready at
        once, without a statement; the others are read in a batch, detached and kept."""

        async def read(session: AsyncSession, keys: Sequence[int]) -> Mapping[int, V]:
            found = await fetch(session, keys)
            for value in found.values():
                for row in value if isinstance(value, list) else [value]:
                    session.expunge(row)
            return found

        async def load(keys: list[int]) -> list[V | D]:
            found = await self._ctx.read(lambda s: read(s, keys))
            kept.update(found)
            return [found[key] if key in found else default() for key in keys]

        return DataLoader(load, cache=_KeptFirst[V | D](kept))

    @cached_property
    def product(self) -> DataLoader[int, tables.Product | None]:
        kept = self._ctx.runtime.catalog
        if kept is None:
            return self._one(catalog.products_by_ids)
        return self._kept(catalog.products_by_ids, kept.products, _none)

    @cached_property
    def prices_by_product(self) -> DataLoader[int, list[tables.Price]]:
        kept = self._ctx.runtime.catalog
        if kept is None:
            return self._or(catalog.prices_by_product, list)
        return self._kept(catalog.prices_by_product, kept.prices_by_product, _no_prices)

    @cached_property
    def plan_tier_bounds(self) -> DataLoader[int, tuple[int, int]]:
        """One key (0): the catalog's (lowest paid, highest) plan tiers, read once a request."""

        async def load(keys: list[int]) -> list[tuple[int, int]]:
            bounds = await self._ctx.read(catalog.plan_tier_bounds)
            return [bounds for _ in keys]

        return DataLoader(load)

    @cached_property
    def crm_account(self) -> DataLoader[str, CrmAccount | None]:
        crm = self._ctx.runtime.providers.crm

        async def load(refs: list[str]) -> list[CrmAccount | BaseException | None]:
            try:
                found = await self._ctx.call_provider(crm, lambda: crm.get_accounts(refs))
            except ProviderError as exc:
                return [exc for _ in refs]
            return [found.get(ref) for ref in refs]

        return DataLoader(load)


def _page_read(
    fetch: PageFetch[V], scope: ReadScope, parents: list[int], request: PageRequest
) -> Callable[[AsyncSession], Awaitable[Mapping[int, Page[V]]]]:
    return lambda session: fetch(session, scope, parents, request)


def _history_read(
    ids: list[int], first: int, after: Position | None
) -> Callable[[AsyncSession], Awaitable[dict[int, HistoryPage]]]:
    return lambda session: history.history_pages(session, ids, first, after)


def _none() -> None:
    return None


def _no_prices() -> list[tables.Price]:
    return []
