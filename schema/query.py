"""The root Query."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import strawberry

from resolvers import (
    audit,
    catalog,
    customers,
    drift,
    invoices,
    notifications,
    promotions,
    subscriptions,
)
from resolvers.access import require_reader
from resolvers.context import RequestContext
from resolvers.errors import invalid
from resolvers.ids import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, from_global_id
from schema import described
from schema.audit import AuditEvent, AuditEventFilter
from schema.catalog import Product
from schema.common import Connection, Node
from schema.customers import BillingAccount, Customer, Deployment
from schema.drift import AdminTask
from schema.enums import AdminTaskStatus
from schema.inputs import InvoiceFilter, SubscriptionFilter
from schema.integration import IntegrationQueries
from schema.invoices import Invoice, invoice_connection
from schema.notifications import Notification
from schema.promotions import Promotion, PromotionFilter
from schema.subscriptions import AddOnPurchase, Subscription, subscription_connection
from schema.viewer import Viewer


def _by(loader: str, convert: Callable[[Any], Node]) -> Callable[..., Awaitable[Node | None]]:
    async def resolve(ctx: RequestContext, pk: int) -> Node | None:
        found = await getattr(ctx.loaders, loader).load(pk)
        return None if found is None else convert(found)

    return resolve


async def _subscription(ctx: RequestContext, pk: int) -> Node | None:
    view = await subscriptions.by_id(ctx, pk)
    return None if view is None else Subscription.from_view(view)


async def _audit_event(ctx: RequestContext, pk: int) -> Node | None:
    found = await audit.by_id(ctx, pk)
    return None if found is None else AuditEvent.from_row(found)


async def _notification(ctx: RequestContext, pk: int) -> Node | None:
    found = await notifications.by_id(ctx, pk)
    return None if found is None else Notification.from_row(found)


NODE_TYPES: dict[str, Callable[[RequestContext, int], Awaitable[Node | None]]] = {
    "Customer": _by("customer", Customer.from_row),
    "Subscription": _subscription,
    "Invoice": _by("invoice", Invoice.from_row),
    "Deployment": _by("deployment", Deployment.from_row),
    "BillingAccount": _by("billing_account", BillingAccount.from_row),
    "AddOnPurchase": _by("add_on", AddOnPurchase.from_row),
    "Product": _by("product", Product.from_row),
    "AuditEvent": _audit_event,
    "Notification": _notification,
}


async def _node(ctx: RequestContext, global_id: str) -> Node | None:
    """Unknown, malformed and forbidden ids all read as null: existence is not disclosed."""
    parsed = from_global_id(global_id)
    if parsed is None or parsed[0] not in NODE_TYPES:
        return None
    return await NODE_TYPES[parsed[0]](ctx, parsed[1])


@strawberry.type
class Query(IntegrationQueries):
    @described.field(description="The caller; null when not signed in.")
    def viewer(self, info: strawberry.Info) -> Viewer | None:
        principal = info.context.principal
        if not principal.is_authenticated:
            return None
        return Viewer(
            kind=principal.kind,
            name=principal.name,
            membership_state=principal.membership_state,
            can_start_first_purchase=principal.has_no_membership,
        )

    @strawberry.field
    async def node(self, info: strawberry.Info, id: strawberry.ID) -> Node | None:
        require_reader(info.context)
        return await _node(info.context, id)

    @strawberry.field
    async def nodes(self, info: strawberry.Info, ids: list[strawberry.ID]) -> list[Node | None]:
        require_reader(info.context)
        if len(ids) > MAX_PAGE_SIZE:
            raise invalid(f"At most {MAX_PAGE_SIZE} ids at once.")
        return [await _node(info.context, global_id) for global_id in ids]

    @described.field(description="The catalog: plans, add-ons and packs with their prices.")
    async def products(self, info: strawberry.Info, tags: list[str] | None = None) -> list[Product]:
        return [Product.from_row(row) for row in await catalog.products(info.context, tags)]

    @described.field(description="Admins: all customers; partners: the customers they sold to.")
    async def customers(
        self,
        info: strawberry.Info,
        first: int = DEFAULT_PAGE_SIZE,
        after: str | None = None,
        search: str | None = None,
    ) -> Connection[Customer]:
        page = await customers.list_page(info.context, first, after, search)
        return Connection.build(page, page.items, Customer.from_row)

    @strawberry.field
    async def customer(self, info: strawberry.Info, id: strawberry.ID) -> Customer | None:
        found = await customers.find(info.context, id)
        return None if found is None else Customer.from_row(found)

    @strawberry.field
    async def subscriptions(
        self,
        info: strawberry.Info,
        first: int = DEFAULT_PAGE_SIZE,
        after: str | None = None,
        filter: SubscriptionFilter | None = None,
    ) -> Connection[Subscription]:
        ctx: RequestContext = info.context
        query = (filter or SubscriptionFilter()).to_query(ctx.today)
        page, views = await subscriptions.list_page(ctx, first, after, query)
        return await subscription_connection(info, page, views)

    @described.field(description="By exactly one of: global id, number, deployment id.")
    async def subscription(
        self,
        info: strawberry.Info,
        id: strawberry.ID | None = None,
        number: str | None = None,
        deployment: str | None = None,
    ) -> Subscription | None:
        view = await subscriptions.find(info.context, id, number, deployment)
        return None if view is None else Subscription.from_view(view)

    @described.field(description="Newest first.")
    async def invoices(
        self,
        info: strawberry.Info,
        first: int = DEFAULT_PAGE_SIZE,
        after: str | None = None,
        filter: InvoiceFilter | None = None,
    ) -> Connection[Invoice]:
        query = (filter or InvoiceFilter()).to_query()
        page = invoices.list_page(info.context, first, after, query)
        return await invoice_connection(info, page)

    @strawberry.field
    async def invoice(self, info: strawberry.Info, id: strawberry.ID) -> Invoice | None:
        found = await invoices.find(info.context, id)
        return None if found is None else Invoice.from_row(found)

    @described.field(description="Admins only: the audit log, newest first.")
    async def audit_events(
        self,
        info: strawberry.Info,
        first: int = DEFAULT_PAGE_SIZE,
        after: str | None = None,
        filter: AuditEventFilter | None = None,
    ) -> Connection[AuditEvent]:
        ctx: RequestContext = info.context
        audit.require_admin(ctx)  # before the filter is read: its errors are for admins only
        query = (filter or AuditEventFilter()).to_query()
        page = await audit.list_page(ctx, first, after, query)
        return Connection.build(page, page.items, AuditEvent.from_row)

    @described.field(
        description="Admins only: tasks the drift job raised (money that differs at the billing "
        "provider), oldest first; `status: null` lists every task."
    )
    async def admin_tasks(
        self,
        info: strawberry.Info,
        status: AdminTaskStatus | None = AdminTaskStatus.OPEN,
        first: int = MAX_PAGE_SIZE,
    ) -> list[AdminTask]:
        found = await drift.admin_tasks(info.context, status, first)
        return [AdminTask.from_row(row) for row in found]

    @described.field(
        description="Admins only: promo codes, oldest first, with redemptions used and left."
    )
    async def promotions(
        self,
        info: strawberry.Info,
        first: int | None = None,
        after: str | None = None,
        filter: PromotionFilter | None = None,
    ) -> Connection[Promotion]:
        active = filter.active if filter else None
        page = await promotions.list_page(info.context, first, after, active)
        return Connection.build(page, page.items, Promotion.from_row)
