"""Invoices, their lines and payments."""

from __future__ import annotations

from app.db.pagination import Page
from app.db.repositories import invoices as repo
from app.db.repositories.invoices import InvoiceFilter
from app.db.tables import Invoice
from resolvers.access import require_reader
from resolvers.context import RequestContext
from resolvers.ids import expect_global_id, page_request


async def list_page(
    ctx: RequestContext, first: int | None, after: str | None, filters: InvoiceFilter
) -> Page[Invoice]:
    require_reader(ctx)
    request = page_request(first, after, descending=True)
    return await ctx.read(lambda s: repo.list_invoices(s, ctx.scope, request, filters))


async def find(ctx: RequestContext, global_id: str) -> Invoice | None:
    require_reader(ctx)
    pk = expect_global_id(global_id, "Invoice")
    return None if pk is None else await by_id(ctx, pk)


async def by_id(ctx: RequestContext, pk: int) -> Invoice | None:
    found: Invoice | None = await ctx.loaders.invoice.load(pk)
    return found


async def page_for(
    ctx: RequestContext, parent: str, parent_id: int, first: int | None, after: str | None
) -> Page[Invoice]:
    loader = {
        "customer": ctx.loaders.invoice_pages_by_customer,
        "subscription": ctx.loaders.invoice_pages_by_subscription,
    }[parent]
    page: Page[Invoice] = await loader.load(
        (parent_id, page_request(first, after, descending=True))
    )
    return page


async def for_order(ctx: RequestContext, order_id: int) -> Invoice | None:
    """The invoice of an order the caller just placed or replayed, within their scope."""
    found = await ctx.read(lambda s: repo.invoice_for_order(s, ctx.scope, order_id))
    return found
