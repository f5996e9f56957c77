"""Events the billing provider pushed to us (webhooks in), stored once per provider event id."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.db.types import timestamp_field, utcnow


class WebhookEvent(SQLModel, table=True):
    """One delivery as received (a replay of the same event id finds this row and stops).
    `kind` and `object_ref` are the neutral reading of the vendor's `type` (what object to
    refresh from the provider); `kind` is None for a type nothing is done for. Nothing else
    of the vendor's event is kept: its payload (customer data) is never read, since the
    worker reads the object's current state from the provider (migration 0014)."""

    __tablename__ = "webhook_event"
    __table_args__ = (sa.UniqueConstraint("provider", "event_id"),)

    id: int | None = Field(default=None, primary_key=True)
    provider: str = Field(max_length=32)
    event_id: str = Field(max_length=255)
    type: str = Field(max_length=128)
    kind: str | None = Field(default=None, max_length=32)
    object_ref: str | None = Field(default=None, max_length=255)
    received_at: datetime = timestamp_field(default_factory=utcnow)
    processed_at: datetime | None = timestamp_field(default=None)
    # What processing did ("refreshed", "unknown_object", "ignored", ...), for operators.
    outcome: str | None = Field(default=None, max_length=64)
