"""Pay-now requests (invoicePay): one row per payer and idempotency key, so a retry replays
the outcome instead of charging again."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.db.types import enum_field, timestamp_field, utcnow
from app.domain.enums import PayNowStatus


class PayNowRequest(SQLModel, table=True):
    """A client's request to charge an open invoice now. `charge_key` and `attempt` are the
    provider keys of the charge (app/services/payments/pay_now.py), kept so a request whose
    outcome was not recorded resumes with the same keys."""

    __tablename__ = "pay_now_request"
    __table_args__ = (sa.UniqueConstraint("billing_account_id", "idempotency_key"),)

    id: int | None = Field(default=None, primary_key=True)
    billing_account_id: int = Field(foreign_key="billing_account.id")
    idempotency_key: str = Field(max_length=128)
    invoice_id: int = Field(foreign_key="invoice.id", index=True)
    status: PayNowStatus = enum_field(PayNowStatus)
    charge_key: str = Field(max_length=128)
    attempt: int
    decline_code: str | None = Field(default=None, max_length=64)
    payment_id: int | None = Field(default=None, foreign_key="payment.id")
    requested_by: str = Field(max_length=200)
    # Set while a request charges it; a concurrent request with the same key waits for it.
    processing_until: datetime | None = timestamp_field(default=None)
    created_at: datetime = timestamp_field(default_factory=utcnow)
    completed_at: datetime | None = timestamp_field(default=None)
