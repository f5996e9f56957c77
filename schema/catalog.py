"""Catalog types: products (plans, add-ons, packs) and their prices."""

from __future__ import annotations

import strawberry

from app.db import tables
from resolvers import catalog as resolve
from resolvers.ids import to_global_id
from schema import described
from schema.common import Money, Node
from schema.enums import BillingPeriod, ProductKind


@strawberry.type
class Price:
    currency: str
    amount: Money
    period: BillingPeriod

    @classmethod
    def from_row(cls, row: tables.Price) -> Price:
        return cls(
            currency=row.currency, amount=Money.of(row.amount, row.currency), period=row.period
        )


@strawberry.type
class Product(Node):
    code: str
    version: int
    name: str
    kind: ProductKind
    tags: list[str]
    tier: int
    compute_quota_minutes: int | None
    pack_units: int | None
    validity_months: int | None
    eligible_plans: list[str]
    _pk: strawberry.Private[int]

    @classmethod
    def from_row(cls, row: tables.Product) -> Product:
        assert row.id is not None
        return cls(
            id=strawberry.ID(to_global_id("Product", row.id)),
            code=row.code,
            version=row.version,
            name=row.name,
            kind=row.kind,
            tags=list(row.tags),
            tier=row.tier,
            compute_quota_minutes=row.compute_quota_minutes,
            pack_units=row.pack_units,
            validity_months=row.validity_months,
            eligible_plans=list(row.eligible_plans),
            _pk=row.id,
        )

    @strawberry.field
    async def prices(self, info: strawberry.Info) -> list[Price]:
        return [Price.from_row(row) for row in await resolve.prices(info.context, self._pk)]

    @described.field(description="The price in one currency, or null if not sold in it.")
    async def price(self, info: strawberry.Info, currency: str = "USD") -> Price | None:
        rows = await resolve.prices(info.context, self._pk)
        return next((Price.from_row(r) for r in rows if r.currency == currency.upper()), None)
