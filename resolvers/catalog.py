"""The public catalog."""

from __future__ import annotations

from collections.abc import Sequence

from app.db.repositories import catalog
from app.db.tables import Price, Product
from resolvers.context import RequestContext


async def products(ctx: RequestContext, tags: Sequence[str] | None) -> list[Product]:
    found = await ctx.read(lambda s: catalog.list_products(s, tags or ()))
    for product in found:
        ctx.loaders.product.prime(product.id, product)  # type: ignore[arg-type]
    return found


async def product(ctx: RequestContext, product_id: int) -> Product:
    found: Product | None = await ctx.loaders.product.load(product_id)
    if found is None:
        raise LookupError(f"product {product_id} referenced but missing")
    return found


async def prices(ctx: RequestContext, product_id: int) -> list[Price]:
    found: list[Price] = await ctx.loaders.prices_by_product.load(product_id)
    return found
