"""In-app notifications, one row per recipient, and the e-mail each one sends."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.db.types import enum_field, timestamp_field, utcnow
from app.domain.enums import NotificationKind


class Notification(SQLModel, table=True):
    __tablename__ = "notification"
    __table_args__ = (
        # The same event notifies a user once, however often a job or a report repeats it.
        sa.UniqueConstraint("user_id", "dedupe_key"),
        sa.Index("ix_notification_user_id_created_at", "user_id", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="portal_user.id")
    customer_id: int = Field(foreign_key="customer.id", index=True)
    subscription_id: int | None = Field(default=None, foreign_key="subscription.id")
    kind: NotificationKind = enum_field(NotificationKind)
    title: str = Field(max_length=200)
    body: str = Field(max_length=2000)
    dedupe_key: str = Field(max_length=128)
    created_at: datetime = timestamp_field(default_factory=utcnow)
    read_at: datetime | None = timestamp_field(default=None)
