"""Drift detection: when each subscription is next compared with the billing provider and
the CRM, what differed, and the admin tasks raised for differences in money."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from app.db.types import enum_field, timestamp_field, utcnow
from app.domain.enums import AdminTaskKind, AdminTaskStatus, DriftRepair, DriftSystem


class DriftCheck(SQLModel, table=True):
    """A subscription's next drift check; no row: due now. Taking a batch moves it on by the
    interval first, so a second worker does not check the same subscriptions."""

    __tablename__ = "drift_check"

    id: int | None = Field(default=None, primary_key=True)
    subscription_id: int = Field(foreign_key="subscription.id", unique=True)
    due_at: datetime = timestamp_field(index=True)
    checked_at: datetime | None = timestamp_field(default=None)


class DriftFinding(SQLModel, table=True):
    """One field on which a remote copy differed from the local one. Open until a check finds
    the two agreeing again (`resolved_at`); `repair` is what the policy did about it."""

    __tablename__ = "drift_finding"

    id: int | None = Field(default=None, primary_key=True)
    subscription_id: int = Field(foreign_key="subscription.id", index=True)
    system: DriftSystem = enum_field(DriftSystem)
    field: str = Field(max_length=100)
    local_value: str | None = Field(default=None, max_length=500)
    remote_value: str | None = Field(default=None, max_length=500)
    repair: DriftRepair = enum_field(DriftRepair)
    detected_at: datetime = timestamp_field(default_factory=utcnow)
    repaired_at: datetime | None = timestamp_field(default=None)
    resolved_at: datetime | None = timestamp_field(default=None)


class AdminTask(SQLModel, table=True):
    """Work for staff that no job may do itself: a difference in money at the billing
    provider. One per finding; resolving it (with a reason, audited) changes nothing else."""

    __tablename__ = "admin_task"

    id: int | None = Field(default=None, primary_key=True)
    subscription_id: int = Field(foreign_key="subscription.id", index=True)
    finding_id: int | None = Field(default=None, foreign_key="drift_finding.id", unique=True)
    kind: AdminTaskKind = enum_field(AdminTaskKind)
    status: AdminTaskStatus = enum_field(AdminTaskStatus, default=AdminTaskStatus.OPEN, index=True)
    detail: str = Field(max_length=1000)
    created_at: datetime = timestamp_field(default_factory=utcnow)
    resolved_at: datetime | None = timestamp_field(default=None)
    resolved_by: str | None = Field(default=None, max_length=200)
    resolution: str | None = Field(default=None, max_length=1000)
