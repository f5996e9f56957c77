"""Compute-minute usage: every reported event once (by its event id), and each deployment's
running totals per calendar month (UTC). Seat usage lives in `seat_usage` (subscriptions.py)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.db.types import json_field, timestamp_field, utcnow


class ComputeUsageEvent(SQLModel, table=True):
    """One usage report from the product; the event id makes a repeat count once."""

    __tablename__ = "compute_usage_event"
    __table_args__ = (
        sa.UniqueConstraint("event_id"),
        sa.CheckConstraint("minutes > 0", name="minutes"),
        sa.CheckConstraint("from_quota + from_purchased + uncovered = minutes", name="split"),
        sa.Index("ix_compute_usage_event_deployment_id_month", "deployment_id", "month"),
    )

    id: int | None = Field(default=None, primary_key=True)
    event_id: str = Field(max_length=128)
    deployment_id: int = Field(foreign_key="deployment.id")
    subscription_id: int | None = Field(default=None, foreign_key="subscription.id")
    month: date  # the 1st of the month (UTC) the minutes count in
    minutes: int
    from_quota: int
    from_purchased: int
    uncovered: int
    # [[consumable_purchase id, minutes], ...] in the order the packs were used
    packs: list[Any] = json_field(default_factory=list)
    reported_by: str = Field(max_length=64)
    request_id: str | None = Field(default=None, max_length=64)
    reported_at: datetime = timestamp_field(default_factory=utcnow)


class ComputeUsageMonth(SQLModel, table=True):
    """A deployment's compute minutes in one month: its row lock serialises the month's
    reports, and its sums are what the month's quota and alerts are measured against."""

    __tablename__ = "compute_usage_month"
    __table_args__ = (
        sa.UniqueConstraint("deployment_id", "month"),
        sa.CheckConstraint(
            "quota_used >= 0 AND purchased_used >= 0 AND uncovered >= 0", name="sums"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    deployment_id: int = Field(foreign_key="deployment.id")
    month: date
    quota_used: int = 0
    purchased_used: int = 0
    uncovered: int = 0
    events: int = 0
    updated_at: datetime = timestamp_field(default_factory=utcnow)
