"""Integration events out (docs/api-guide.md "Integration events"): who subscribes, what happened,
and each event's delivery to each subscriber with every attempt made."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.db.types import enum_field, json_field, timestamp_field, utcnow
from app.domain.enums import DeliveryStatus


class IntegrationSubscriber(SQLModel, table=True):
    """A receiver of signed events. `secret` is the signing secret encrypted (AES-GCM, key from
    INTEGRATION_SECRET_KEY or derived from JWT_SECRET): it must be recoverable to sign, and is
    shown once, when the subscriber is created. `events` empty: every kind."""

    __tablename__ = "integration_subscriber"

    id: int | None = Field(default=None, primary_key=True)
    public_id: str = Field(max_length=40, unique=True)
    name: str = Field(max_length=200)
    url: str = Field(max_length=2000)
    secret: str = Field(max_length=200)
    events: list[str] = json_field(default_factory=list)
    active: bool = True
    created_at: datetime = timestamp_field(default_factory=utcnow)
    deactivated_at: datetime | None = timestamp_field(default=None)
    # Why it stopped: "admin", or "gone" (it answered 410 Gone).
    deactivated_reason: str | None = Field(default=None, max_length=64)


class IntegrationEvent(SQLModel, table=True):
    """What happened to a subscription, numbered per subscription (`sequence` 1, 2, ...)."""

    __tablename__ = "integration_event"
    __table_args__ = (sa.UniqueConstraint("subscription_id", "sequence"),)

    id: int | None = Field(default=None, primary_key=True)
    public_id: str = Field(max_length=40, unique=True)
    kind: str = Field(max_length=64)
    subscription_id: int = Field(foreign_key="subscription.id", index=True)
    sequence: int
    payload: dict[str, Any] = json_field(default_factory=dict)
    occurred_at: datetime = timestamp_field(default_factory=utcnow)


class IntegrationDelivery(SQLModel, table=True):
    """One event for one subscriber: PENDING until delivered, or FAILED once the outbox gave
    up; the last attempt's outcome is copied here for the log."""

    __tablename__ = "integration_delivery"
    __table_args__ = (sa.UniqueConstraint("event_id", "subscriber_id"),)

    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="integration_event.id", index=True)
    subscriber_id: int = Field(foreign_key="integration_subscriber.id", index=True)
    status: DeliveryStatus = enum_field(DeliveryStatus, default=DeliveryStatus.PENDING)
    attempts: int = 0
    last_status_code: int | None = None
    last_error: str | None = Field(default=None, max_length=500)
    last_attempt_at: datetime | None = timestamp_field(default=None)
    delivered_at: datetime | None = timestamp_field(default=None)
    created_at: datetime = timestamp_field(default_factory=utcnow)


class IntegrationAttempt(SQLModel, table=True):
    """One POST of a delivery: its answer's status (None: no answer), error and duration."""

    __tablename__ = "integration_attempt"

    id: int | None = Field(default=None, primary_key=True)
    delivery_id: int = Field(foreign_key="integration_delivery.id", index=True)
    attempt: int
    status_code: int | None = None
    error: str | None = Field(default=None, max_length=500)
    duration_ms: int
    attempted_at: datetime = timestamp_field(default_factory=utcnow)
    delivered: bool
    # The outbox gave up after this attempt (the delivery is FAILED).
    gave_up: bool = False
