"""The versioned product catalog: plans, seat add-ons and packs, priced per currency."""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.db.types import enum_field, json_field, minor_units_field
from app.domain.enums import BillingPeriod, ProductKind


class Product(SQLModel, table=True):
    __tablename__ = "product"
    __table_args__ = (sa.UniqueConstraint("code", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=64, index=True)
    version: int = 1
    name: str = Field(max_length=200)
    kind: ProductKind = enum_field(ProductKind)
    tags: list[str] = json_field(default_factory=list)
    tier: int = 0
    compute_quota_minutes: int | None = None
    pack_units: int | None = None
    validity_months: int | None = None
    eligible_plans: list[str] = json_field(default_factory=list)
    guests_billable: bool = True
    active: bool = True


class Price(SQLModel, table=True):
    __tablename__ = "price"
    __table_args__ = (sa.UniqueConstraint("product_id", "currency"),)

    id: int | None = Field(default=None, primary_key=True)
    product_id: int = Field(foreign_key="product.id", index=True)
    currency: str = Field(max_length=3)
    amount: int = minor_units_field()
    period: BillingPeriod = enum_field(BillingPeriod)
