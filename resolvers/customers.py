"""Customers and the objects around them, each read within the caller's scope."""

from __future__ import annotations

from app.db.pagination import Page
from app.db.repositories import customers as repo
from app.db.tables import BillingAccount, Customer, Deployment, Partner
from app.providers.crm import CrmAccount
from app.providers.errors import ProviderError
from resolvers.access import require_lister, require_reader
from resolvers.context import RequestContext
from resolvers.errors import provider_unavailable
from resolvers.ids import expect_global_id, page_request


async def list_page(
    ctx: RequestContext, first: int | None, after: str | None, search: str | None
) -> Page[Customer]:
    require_lister(ctx)
    request = page_request(first, after)
    return await ctx.read(lambda s: repo.list_customers(s, ctx.scope, request, search))


async def find(ctx: RequestContext, global_id: str) -> Customer | None:
    require_reader(ctx)
    pk = expect_global_id(global_id, "Customer")
    return None if pk is None else await by_id(ctx, pk)


async def by_id(ctx: RequestContext, pk: int) -> Customer | None:
    found: Customer | None = await ctx.loaders.customer.load(pk)
    return found


async def deployments(ctx: RequestContext, customer_id: int) -> list[Deployment]:
    found: list[Deployment] = await ctx.loaders.deployments_by_customer.load(customer_id)
    return found


async def billing_accounts(ctx: RequestContext, customer_id: int) -> list[BillingAccount]:
    found: list[BillingAccount] = await ctx.loaders.billing_accounts_by_customer.load(customer_id)
    return found


async def partner(ctx: RequestContext, pk: int | None) -> Partner | None:
    if pk is None:
        return None
    found: Partner | None = await ctx.loaders.partner.load(pk)
    return found


async def crm_account(ctx: RequestContext, ref: str | None) -> CrmAccount | None:
    """Joined from the CRM at read time; if the CRM is down, this field alone is null."""
    if ref is None:
        return None
    try:
        return await ctx.loaders.crm_account.load(ref)
    except ProviderError as exc:
        raise provider_unavailable("The CRM") from exc


async def viewer_memberships(ctx: RequestContext) -> list[tuple[Customer, str]]:
    roles = ctx.principal.roles
    keys = sorted(roles)
    found = await ctx.loaders.customer.load_many(keys)
    return [
        (customer, roles[pk].value) for pk, customer in zip(keys, found, strict=True) if customer
    ]
