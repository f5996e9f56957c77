"""Operational records: the audit log and the transactional outbox."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.db.types import enum_field, json_field, timestamp_field, utcnow
from app.domain.enums import OutboxStatus


class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_event"
    # "What happened to this object?": the admin panel's filter on targetId.
    __table_args__ = (sa.Index("ix_audit_event_target", "target_type", "target_id"),)

    id: int | None = Field(default=None, primary_key=True)
    occurred_at: datetime = timestamp_field(default_factory=utcnow, index=True)
    actor_kind: str = Field(max_length=32)
    actor_id: str = Field(max_length=200)
    action: str = Field(max_length=64, index=True)
    target_type: str = Field(max_length=64)
    target_id: str = Field(max_length=64)
    reason: str | None = Field(default=None, max_length=1000)
    before: dict[str, Any] | None = json_field(default=None)
    after: dict[str, Any] | None = json_field(default=None)
    request_id: str | None = Field(default=None, max_length=64)


class OutboxMessage(SQLModel, table=True):
    """Work committed with a state change and carried out later (provider calls, provisioning)."""

    __tablename__ = "outbox_message"
    __table_args__ = (
        # A subscription's messages of one topic: its latest provisioning state, and one
        # message in flight per subscription and topic.
        sa.Index("ix_outbox_message_subscription_id_topic", "subscription_id", "topic"),
        # Messages sharing an ordering key are carried out one after the other.
        sa.Index("ix_outbox_message_ordering_key_status", "ordering_key", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    topic: str = Field(max_length=64)
    payload: dict[str, Any] = json_field(default_factory=dict)
    idempotency_key: str = Field(max_length=128, unique=True)
    status: OutboxStatus = enum_field(OutboxStatus, default=OutboxStatus.PENDING, index=True)
    attempts: int = 0
    available_at: datetime = timestamp_field(default_factory=utcnow, index=True)
    last_error: str | None = Field(default=None, max_length=2000)
    created_at: datetime = timestamp_field(default_factory=utcnow)
    processed_at: datetime | None = timestamp_field(default=None)
    # The subscription the message is about (copied from the payload by `enqueue`).
    subscription_id: int | None = None
    # A worker's claim: it alone processes the message until `locked_until` (its lease); a
    # lease that runs out (the worker died) makes the message claimable again.
    locked_by: str | None = Field(default=None, max_length=64)
    locked_until: datetime | None = timestamp_field(default=None)
    last_attempt_at: datetime | None = timestamp_field(default=None)
    # Messages with one key run in id order: one waits while an older one is PENDING
    # (claimed, or waiting for its retry), so a failing message holds back those after it
    # until it is DONE or FAILED. None: no ordering (migration 0016).
    ordering_key: str | None = Field(default=None, max_length=128)
