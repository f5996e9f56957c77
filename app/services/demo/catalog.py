"""The demo catalog (docs/domain.md section 2) as data, and its idempotent insertion; the demo's
promo codes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.db.tables import Price, Product, Promotion
from app.domain.enums import BillingPeriod, ProductKind
from app.services.demo.context import World
from app.services.demo.rows import ident
from app.services.demo.specs import PromotionSpec

CURRENCY = "USD"


@dataclass(frozen=True, slots=True)
class ProductSpec:
    code: str
    name: str
    kind: ProductKind
    tags: tuple[str, ...]
    price: int
    period: BillingPeriod = BillingPeriod.YEAR
    tier: int = 0
    compute_quota_minutes: int | None = None
    pack_units: int | None = None
    validity_months: int | None = None
    eligible_plans: tuple[str, ...] = ()
    guests_billable: bool = True


_PLAN, _ADD_ON = ProductKind.PLAN, ProductKind.SEAT_ADDON

CATALOG: tuple[ProductSpec, ...] = (
    ProductSpec("free", "Free", _PLAN, ("PLAN",), 0, tier=0, compute_quota_minutes=400),
    ProductSpec("premium", "Premium", _PLAN, ("PLAN",), 34_800, tier=1,
                compute_quota_minutes=10_000),
    ProductSpec("ultimate", "Ultimate", _PLAN, ("PLAN",), 118_800, tier=2,
                compute_quota_minutes=50_000, guests_billable=False),
    ProductSpec("duo_pro", "Duo Pro", _ADD_ON, ("ADD_ON",), 22_800,
                eligible_plans=("premium", "ultimate")),
    ProductSpec("duo_enterprise", "Duo Enterprise", _ADD_ON, ("ADD_ON",), 46_800,
                eligible_plans=("ultimate",)),
    ProductSpec("compute_minutes_1000", "Compute minutes pack", ProductKind.ONE_TIME_PACK,
                ("CI_MINUTES_PACK",), 1_000, BillingPeriod.ONE_TIME, pack_units=1_000,
                validity_months=12),
    ProductSpec("storage_10gib", "Storage pack", ProductKind.RECURRING_PACK,
                ("STORAGE_PACK",), 6_000, pack_units=10),
)  # fmt: skip


async def seed_catalog(session: AsyncSession) -> dict[str, Product]:
    """Insert the catalog products (with USD prices) whose codes are not there yet."""
    products = await _latest_by_code(session, [spec.code for spec in CATALOG])
    missing = [spec for spec in CATALOG if spec.code not in products]
    created = [_product(spec) for spec in missing]
    session.add_all(created)
    await session.flush()
    session.add_all(_price(spec, product) for spec, product in zip(missing, created, strict=True))
    await session.flush()
    products.update((product.code, product) for product in created)
    return products


def add_promotions(world: World, specs: Sequence[PromotionSpec]) -> None:
    world.session.add_all(
        Promotion(
            code=spec.code, percent_off=spec.percent_off, expires_on=spec.expires.on(world.today)
        )
        for spec in specs
    )


async def usd_prices(session: AsyncSession, products: Mapping[str, Product]) -> dict[str, int]:
    """The USD price of each product, by product code."""
    codes = {ident(product): code for code, product in products.items()}
    stmt = sa.select(Price).where(
        col(Price.product_id).in_(list(codes)), col(Price.currency) == CURRENCY
    )
    return {codes[price.product_id]: price.amount for price in await session.scalars(stmt)}


async def _latest_by_code(session: AsyncSession, codes: list[str]) -> dict[str, Product]:
    stmt = sa.select(Product).where(col(Product.code).in_(codes)).order_by(col(Product.version))
    return {product.code: product for product in await session.scalars(stmt)}


def _product(spec: ProductSpec) -> Product:
    return Product(
        code=spec.code,
        name=spec.name,
        kind=spec.kind,
        tags=list(spec.tags),
        tier=spec.tier,
        compute_quota_minutes=spec.compute_quota_minutes,
        pack_units=spec.pack_units,
        validity_months=spec.validity_months,
        eligible_plans=list(spec.eligible_plans),
        guests_billable=spec.guests_billable,
    )


def _price(spec: ProductSpec, product: Product) -> Price:
    return Price(
        product_id=ident(product), currency=CURRENCY, amount=spec.price, period=spec.period
    )
