"""The billing lifecycle's records: one row per quarter reconciled, per renewal attempted,
and per reminder sent, each unique for what it is about, so every step happens once."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.db.types import enum_field, json_field, minor_units_field, timestamp_field, utcnow
from app.domain.lifecycle import LifecycleEventKind, RenewalStatus
from app.domain.reconciliation import ReconciliationStatus


class Reconciliation(SQLModel, table=True):
    """Quarter `quarter` (1-3) of the term starting `term_start`: scheduled when the term is
    first seen, noticed at `quarter_end`, invoiced from `invoice_on`."""

    __tablename__ = "reconciliation"
    __table_args__ = (
        sa.UniqueConstraint("subscription_id", "quarter_end"),
        sa.Index("ix_reconciliation_status_quarter_end", "status", "quarter_end"),
    )

    id: int | None = Field(default=None, primary_key=True)
    subscription_id: int = Field(foreign_key="subscription.id", index=True)
    term_start: date
    quarter: int
    quarter_start: date
    quarter_end: date
    invoice_on: date
    status: ReconciliationStatus = enum_field(ReconciliationStatus)
    # At the notice: the paid seats, the quarter's max, the overage and its estimated cost.
    paid_seats: int | None = None
    max_seats_used: int | None = None
    overage_seats: int | None = None
    amount: int | None = minor_units_field(default=None)
    # At the invoice: the seats still owed (seats bought meanwhile are not billed).
    billed_seats: int | None = None
    invoice_id: int | None = Field(default=None, foreign_key="invoice.id")
    claimed_by: str | None = Field(default=None, max_length=64)
    claimed_until: datetime | None = timestamp_field(default=None)
    created_at: datetime = timestamp_field(default_factory=utcnow)
    noticed_at: datetime | None = timestamp_field(default=None)
    completed_at: datetime | None = timestamp_field(default=None)


class Renewal(SQLModel, table=True):
    """The renewal of a subscription into the term starting `term_start` (the old term end):
    priced once, invoiced once, charged once per attempt."""

    __tablename__ = "renewal"
    __table_args__ = (sa.UniqueConstraint("subscription_id", "term_start"),)

    id: int | None = Field(default=None, primary_key=True)
    subscription_id: int = Field(foreign_key="subscription.id", index=True)
    term_start: date
    term_end: date
    status: RenewalStatus = enum_field(RenewalStatus, index=True)
    # The new term as priced: plan, seats, storage packs carried over ([{code, packs, units,
    # amount}]).
    plan_id: int = Field(foreign_key="product.id")
    seats: int
    storage: list[dict[str, Any]] = json_field(default_factory=list)
    invoice_id: int | None = Field(default=None, foreign_key="invoice.id")
    attempts: int = 0
    next_attempt_on: date | None = None
    failure_code: str | None = Field(default=None, max_length=64)
    claimed_by: str | None = Field(default=None, max_length=64)
    claimed_until: datetime | None = timestamp_field(default=None)
    created_at: datetime = timestamp_field(default_factory=utcnow)
    completed_at: datetime | None = timestamp_field(default=None)


class LifecycleEvent(SQLModel, table=True):
    """A reminder sent for a subscription's term end (`due_on`): sent once per term."""

    __tablename__ = "lifecycle_event"
    __table_args__ = (sa.UniqueConstraint("subscription_id", "kind", "due_on"),)

    id: int | None = Field(default=None, primary_key=True)
    subscription_id: int = Field(foreign_key="subscription.id")
    kind: LifecycleEventKind = enum_field(LifecycleEventKind)
    due_on: date
    created_at: datetime = timestamp_field(default_factory=utcnow)
