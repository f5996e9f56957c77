"""Commerce bookkeeping: promotions, order leases and document number sequences."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.db.types import json_field, minor_units_field, timestamp_field


class Promotion(SQLModel, table=True):
    """A promo code: a percentage or a fixed amount off, maybe limited in time, count, plans."""

    __tablename__ = "promotion"
    __table_args__ = (
        sa.CheckConstraint(
            "(percent_off IS NULL) <> (amount_off IS NULL)", name="one_kind_of_discount"
        ),
        sa.CheckConstraint("percent_off IS NULL OR percent_off BETWEEN 1 AND 100", name="percent"),
        sa.CheckConstraint("amount_off IS NULL OR amount_off > 0", name="amount"),
        sa.CheckConstraint(
            "max_redemptions IS NULL OR redemptions <= max_redemptions", name="redemptions"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=64, unique=True)
    percent_off: int | None = None
    amount_off: int | None = minor_units_field(default=None)
    currency: str | None = Field(default=None, max_length=3)
    starts_on: date | None = None  # first valid day
    expires_on: date | None = None  # last valid day
    max_redemptions: int | None = None
    redemptions: int = 0
    plan_codes: list[str] = json_field(default_factory=list)
    active: bool = True


class OrderLease(SQLModel, table=True):
    """One order at a time per subscription or deployment, across processes; a lease that
    outlives a crashed worker expires and can be taken over."""

    __tablename__ = "order_lease"

    resource: str = Field(max_length=64, primary_key=True)
    # None: held by a billing lifecycle job (app/services/lifecycle), not by an order.
    order_id: int | None = Field(default=None, foreign_key="order.id")
    expires_at: datetime = timestamp_field()


class NumberSequence(SQLModel, table=True):
    """Counters behind human-facing numbers (A-S00000042, INV-000123)."""

    __tablename__ = "number_sequence"

    name: str = Field(max_length=32, primary_key=True)
    value: int = 0
