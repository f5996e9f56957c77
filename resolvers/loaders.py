"""Per-request DataLoaders: every relationship and provider lookup is batched here, so the
number of statements for a query does not grow with the length of its lists."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.dataloader import DataLoader, DefaultCache

from app.db.pagination import Page, PageRequest
from app.db.repositories import (
    catalog,
    customers,
    drift,
    dunning,
    history,
    invoices,
    outbox,
    subscriptions,
)
from app.db.repositories.history import HistoryPage
from app.db.scope import ReadScope
from app.domain.history import Position
from app.providers.crm import CrmAccount
from app.providers.errors import ProviderError
from app.services.outbox import PROVISION
from resolvers import usage

if TYPE_CHECKING:
    from resolvers.context import RequestContext

K = TypeVar("K")
V = TypeVar("V")

R = TypeVar("R")

ScopedBatch = Callable[[AsyncSession, ReadScope, Sequence[int]], Awaitable[dict[int, Any]]]
Batch = Callable[[AsyncSession, Sequence[int]], Awaitable[dict[int, Any]]]
PageBatch = Callable[
    [AsyncSession, ReadScope, Sequence[int], PageRequest], Awaitable[dict[int, Page[Any]]]
]


def now_or_later(
    loader: DataLoader[K, V],
    key: K,
    convert: Callable[[V], R],
    later: Callable[[Awaitable[V]], Awaitable[R]] | None = None,
) -> R | Awaitable[R]:
    """`convert(value)` at once when the loader already holds the key's value (loaded or primed,
    e.g. by resolvers.prefetch); otherwise an awaitable of it (`later(pending)` if given). A
    resolver returning this lets graphql-core skip the coroutine and task per item when the
    value is ready; a failed load raises its error either way."""
    future = loader.cache_map.get(key) if loader.cache else None
    if future is not None and future.done() and not future.cancelled():
        return convert(future.result())
    pending = loader.load(key)
    return _converted(pending, convert) if later is None else later(pending)


async def _converted(pending: Awaitable[V], convert: Callable[[V], R]) -> R:
    return convert(await pending)


class _KeptFirst(DefaultCache[int, Any]):
    """The request's loader cache, answering from the process's kept rows first."""

    def __init__(self, kept: dict[int, Any]) -> None:
        super().__init__()
        self._kept = kept

    def get(self, key: int) -> asyncio.Future[Any] | None:
        found = super().get(key)
        if found is None and key in self._kept:
            found = asyncio.get_running_loop().create_future()
            found.set_result(self._kept[key])
            self.set(key, found)
        return found


class Loaders:
    def __init__(self, ctx: RequestContext) -> None:
        self._ctx = ctx

    def _scoped(self, fetch: ScopedBatch, default: Any = None) -> DataLoader[int, Any]:
        async def load(keys: list[int]) -> list[Any]:
            found = await self._ctx.read(lambda s: fetch(s, self._ctx.scope, keys))
            return [found.get(key, default) for key in keys]

        return DataLoader(load_fn=load)

    def _plain(self, fetch: Batch, default: Any = None) -> DataLoader[int, Any]:
        async def load(keys: list[int]) -> list[Any]:
            found = await self._ctx.read(lambda s: fetch(s, keys))
            return [found.get(key, default) for key in keys]

        return DataLoader(load_fn=load)

    def _pages(self, fetch: PageBatch) -> DataLoader[tuple[int, PageRequest], Page[Any]]:
        """Keys are (parent id, page request); parents asking for the same page share a query."""

        async def load(keys: list[tuple[int, PageRequest]]) -> list[Page[Any]]:
            by_request: dict[PageRequest, list[int]] = defaultdict(list)
            for parent_id, request in keys:
                by_request[request].append(parent_id)
            found: dict[tuple[int, PageRequest], Page[Any]] = {}
            for request, parents in by_request.items():
                pages = await self._ctx.read(
                    lambda s, r=request, p=parents: fetch(s, self._ctx.scope, p, r)  # type: ignore[misc]
                )
                found.update({(parent, request): page for parent, page in pages.items()})
            return [found[key] for key in keys]

        return DataLoader(load_fn=load)

    @cached_property
    def customer(self) -> DataLoader[int, Any]:
        return self._scoped(customers.customers_by_ids)

    @cached_property
    def deployment(self) -> DataLoader[int, Any]:
        return self._scoped(customers.deployments_by_ids)

    @cached_property
    def deployments_by_customer(self) -> DataLoader[int, Any]:
        return self._scoped(customers.deployments_by_customer, default=[])

    @cached_property
    def billing_account(self) -> DataLoader[int, Any]:
        return self._scoped(customers.billing_accounts_by_ids)

    @cached_property
    def billing_accounts_by_customer(self) -> DataLoader[int, Any]:
        return self._scoped(customers.billing_accounts_by_customer, default=[])

    @cached_property
    def partner(self) -> DataLoader[int, Any]:
        return self._plain(customers.partners_by_ids)

    @cached_property
    def subscription(self) -> DataLoader[int, Any]:
        return self._scoped(subscriptions.subscriptions_by_ids)

    @cached_property
    def subscription_pages_by_customer(self) -> DataLoader[tuple[int, PageRequest], Any]:
        return self._pages(subscriptions.subscription_pages_by_customer)

    @cached_property
    def add_on(self) -> DataLoader[int, Any]:
        return self._scoped(subscriptions.add_ons_by_ids)

    @cached_property
    def add_ons_by_subscription(self) -> DataLoader[int, Any]:
        return self._plain(subscriptions.add_on_rows_by_subscription, default=[])

    @cached_property
    def assignment_count(self) -> DataLoader[int, Any]:
        return self._plain(subscriptions.assignment_counts, default=0)

    @cached_property
    def assignment_pages(self) -> DataLoader[tuple[int, PageRequest], Page[Any]]:
        return self._pages(subscriptions.assignment_pages)

    @cached_property
    def drift_findings_by_subscription(self) -> DataLoader[int, Any]:
        return self._plain(drift.findings_by_subscription, default=[])

    @cached_property
    def consumables_by_subscription(self) -> DataLoader[int, Any]:
        return self._plain(subscriptions.consumables_by_subscription, default=[])

    @cached_property
    def licenses_by_subscription(self) -> DataLoader[int, Any]:
        return self._plain(subscriptions.licenses_by_subscription, default=[])

    @cached_property
    def seat_usage_pages(self) -> DataLoader[Any, Any]:
        return usage.seat_usage_loader(self._ctx)

    @cached_property
    def compute_month(self) -> DataLoader[int, Any]:
        return usage.compute_month_loader(self._ctx)

    @cached_property
    def provisioning_message(self) -> DataLoader[int, Any]:
        """Each subscription's latest provisioning outbox message (None: never queued)."""
        return self._plain(lambda s, ids: outbox.latest_by_subscription(s, PROVISION, ids))

    @cached_property
    def invoice(self) -> DataLoader[int, Any]:
        return self._scoped(invoices.invoices_by_ids)

    @cached_property
    def invoice_pages_by_customer(self) -> DataLoader[tuple[int, PageRequest], Any]:
        return self._pages(
            lambda s, scope, ids, page: invoices.invoice_pages_by(s, scope, "customer", ids, page)
        )

    @cached_property
    def invoice_pages_by_subscription(self) -> DataLoader[tuple[int, PageRequest], Any]:
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
                pages = await self._ctx.read(
                    lambda s, ids=ids, first=first, after=after: history.history_pages(
                        s, ids, first, after
                    )
                )
                found |= {(sid, first, after): page for sid, page in pages.items()}
            return [found[key] for key in keys]

        return DataLoader(load_fn=load)

    @cached_property
    def lines_by_invoice(self) -> DataLoader[int, Any]:
        return self._plain(invoices.line_rows_by_invoice, default=[])

    @cached_property
    def payments_by_invoice(self) -> DataLoader[int, Any]:
        return self._plain(invoices.payments_by_invoice, default=[])

    @cached_property
    def credit_notes_by_invoice(self) -> DataLoader[int, Any]:
        return self._plain(invoices.credit_notes_by_invoice, default=[])

    @cached_property
    def dunning_by_subscription(self) -> DataLoader[int, Any]:
        return self._plain(dunning.collection_by_subscription, default=([], None))

    def _kept(
        self, fetch: Batch, kept: dict[int, Any], default: Any = None
    ) -> DataLoader[int, Any]:
        """Immutable rows the process keeps (app.db.catalog_cache): a kept key is ready at
        once, without a statement; the others are read in a batch, detached and kept."""

        async def read(session: AsyncSession, keys: Sequence[int]) -> dict[int, Any]:
            found = await fetch(session, keys)
            for value in found.values():
                for row in value if isinstance(value, list) else [value]:
                    session.expunge(row)
            return found

        async def load(keys: list[int]) -> list[Any]:
            found = await self._ctx.read(lambda s: read(s, keys))
            kept.update(found)
            return [found.get(key, default) for key in keys]

        return DataLoader(load_fn=load, cache_map=_KeptFirst(kept))

    @cached_property
    def product(self) -> DataLoader[int, Any]:
        kept = self._ctx.runtime.catalog
        if kept is None:
            return self._plain(catalog.products_by_ids)
        return self._kept(catalog.products_by_ids, kept.products)

    @cached_property
    def prices_by_product(self) -> DataLoader[int, Any]:
        kept = self._ctx.runtime.catalog
        if kept is None:
            return self._plain(catalog.prices_by_product, default=[])
        return self._kept(catalog.prices_by_product, kept.prices_by_product, default=[])

    @cached_property
    def plan_tier_bounds(self) -> DataLoader[int, tuple[int, int]]:
        """One key (0): the catalog's (lowest paid, highest) plan tiers, read once a request."""

        async def load(keys: list[int]) -> list[tuple[int, int]]:
            bounds = await self._ctx.read(catalog.plan_tier_bounds)
            return [bounds for _ in keys]

        return DataLoader(load_fn=load)

    @cached_property
    def crm_account(self) -> DataLoader[str, CrmAccount | None]:
        crm = self._ctx.runtime.providers.crm

        async def load(refs: list[str]) -> list[CrmAccount | BaseException | None]:
            try:
                found = await self._ctx.call_provider(crm, lambda: crm.get_accounts(refs))
            except ProviderError as exc:
                return [exc for _ in refs]
            return [found.get(ref) for ref in refs]

        return DataLoader(load_fn=load)  # type: ignore[arg-type]
