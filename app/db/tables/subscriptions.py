"""Subscriptions and what hangs off them: add-ons, consumables, seat usage, licenses."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.db.types import enum_field, minor_units_field, timestamp_field, utcnow
from app.domain.enums import (
    Channel,
    ConsumableKind,
    ProvisioningStatus,
    ReconciliationMode,
    SubscriptionStatus,
    SyncStatus,
)

_LIVE = "status IN ('TRIAL', 'ACTIVE', 'GRACE')"


class Subscription(SQLModel, table=True):
    __tablename__ = "subscription"
    __table_args__ = (
        # One live base subscription per deployment.
        sa.Index(
            "uq_subscription_live_deployment",
            "deployment_id",
            unique=True,
            sqlite_where=sa.text(_LIVE),
            postgresql_where=sa.text(_LIVE),
        ),
        sa.CheckConstraint("seats >= 0", name="seats"),
        sa.CheckConstraint("term_end > term_start", name="term"),
    )

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(max_length=32, unique=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    deployment_id: int = Field(foreign_key="deployment.id", index=True)
    plan_id: int = Field(foreign_key="product.id")
    billing_account_id: int = Field(foreign_key="billing_account.id", index=True)
    partner_id: int | None = Field(default=None, foreign_key="partner.id", index=True)
    channel: Channel = enum_field(Channel)
    reconciliation_mode: ReconciliationMode = enum_field(ReconciliationMode)
    status: SubscriptionStatus = enum_field(SubscriptionStatus, index=True)
    currency: str = Field(max_length=3)
    seats: int
    # Seats staff granted free of charge (never billed): provisioned and licensed on top of
    # `seats`, counted as covered for seats owed and overage (docs/staff-tools.md).
    comp_seats: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    seats_in_use: int = 0
    max_seats_used: int = 0
    term_start: date
    term_end: date = Field(index=True)
    auto_renew: bool = True
    cancel_reason: str | None = Field(default=None, max_length=500)
    pending_plan_id: int | None = Field(default=None, foreign_key="product.id")
    # A grace period staff extended ends on this day instead of 14 days after the term end.
    grace_extended_until: date | None = None
    provider_ref: str | None = Field(default=None, max_length=64)
    sync_status: SyncStatus = enum_field(SyncStatus, default=SyncStatus.PENDING)
    provisioning_status: ProvisioningStatus = enum_field(
        ProvisioningStatus, default=ProvisioningStatus.PENDING
    )
    lock_version: int = 1
    created_at: datetime = timestamp_field(default_factory=utcnow)
    updated_at: datetime = timestamp_field(default_factory=utcnow)


class AddOnPurchase(SQLModel, table=True):
    """A seat-based add-on (Duo Pro, Duo Enterprise), co-termed with its subscription."""

    __tablename__ = "add_on_purchase"
    __table_args__ = (sa.CheckConstraint("quantity > 0", name="quantity"),)

    id: int | None = Field(default=None, primary_key=True)
    subscription_id: int = Field(foreign_key="subscription.id", index=True)
    product_id: int = Field(foreign_key="product.id")
    quantity: int
    provider_ref: str | None = Field(default=None, max_length=64)
    created_at: datetime = timestamp_field(default_factory=utcnow)


class AddOnAssignment(SQLModel, table=True):
    __tablename__ = "add_on_assignment"
    __table_args__ = (sa.UniqueConstraint("add_on_purchase_id", "user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    add_on_purchase_id: int = Field(foreign_key="add_on_purchase.id", index=True)
    user_id: str = Field(max_length=64)
    assigned_at: datetime = timestamp_field(default_factory=utcnow)
    assigned_by: str | None = Field(default=None, max_length=100)  # the audit actor


class ConsumablePurchase(SQLModel, table=True):
    """Compute-minute packs (one-time, 12-month expiry) and storage packs (co-termed)."""

    __tablename__ = "consumable_purchase"
    __table_args__ = (
        sa.CheckConstraint("packs > 0", name="packs"),
        sa.CheckConstraint("units_used >= 0 AND units_used <= units", name="units_used"),
    )

    id: int | None = Field(default=None, primary_key=True)
    subscription_id: int = Field(foreign_key="subscription.id", index=True)
    product_id: int = Field(foreign_key="product.id")
    kind: ConsumableKind = enum_field(ConsumableKind)
    packs: int
    units: int
    units_used: int = 0
    amount: int = minor_units_field()
    currency: str = Field(max_length=3)
    purchased_on: date
    expires_on: date
    order_id: int | None = Field(default=None, foreign_key="order.id")


class SeatUsage(SQLModel, table=True):
    """A daily snapshot of billable users reported by the product: the day's latest figure
    (charts, seats in use) and the day's greatest one (the quarterly reconciliation)."""

    __tablename__ = "seat_usage"
    __table_args__ = (sa.UniqueConstraint("deployment_id", "reported_on"),)

    id: int | None = Field(default=None, primary_key=True)
    deployment_id: int = Field(foreign_key="deployment.id", index=True)
    reported_on: date
    billable_users: int
    max_billable_users: int
    reported_at: datetime = timestamp_field(default_factory=utcnow)


class License(SQLModel, table=True):
    __tablename__ = "license"

    id: int | None = Field(default=None, primary_key=True)
    subscription_id: int = Field(foreign_key="subscription.id", index=True)
    activation_code: str = Field(max_length=24, unique=True)
    instance_id: str | None = Field(default=None, max_length=64)
    activated_at: datetime | None = timestamp_field(default=None)
    license_key: str | None = Field(default=None, sa_type=sa.Text)
    billable_users: int | None = None
    max_historical_users: int | None = None
    last_synced_at: datetime | None = timestamp_field(default=None)
    # Set when staff reissued the license: a new row (new code) replaced this one, whose
    # key is refused from then on.
    revoked_at: datetime | None = timestamp_field(default=None)


class SubscriptionExtension(SQLModel, table=True):
    """A trial or grace period extended by staff: at most one of each kind per term (the
    term's start names it, since a trial extension moves the term end)."""

    __tablename__ = "subscription_extension"
    __table_args__ = (
        sa.UniqueConstraint("subscription_id", "kind", "term_start"),
        sa.CheckConstraint("days > 0", name="days"),
    )

    id: int | None = Field(default=None, primary_key=True)
    subscription_id: int = Field(foreign_key="subscription.id", index=True)
    kind: str = Field(max_length=16)  # TRIAL or GRACE
    term_start: date
    days: int
    previous_end: date
    new_end: date
    granted_by: str = Field(max_length=100)  # the audit actor
    reason: str = Field(max_length=1000)
    created_at: datetime = timestamp_field(default_factory=utcnow)
