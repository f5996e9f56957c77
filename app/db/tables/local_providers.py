"""Tables of the embedded providers: the local billing ledger, CRM and provisioning record.

They stand in for systems that would live elsewhere; nothing outside app/providers/*/local.py
reads them.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.db.types import json_field, minor_units_field, timestamp_field, utcnow


class LedgerAccount(SQLModel, table=True):
    __tablename__ = "ledger_account"

    id: int | None = Field(default=None, primary_key=True)
    ref: str = Field(max_length=64, unique=True)
    name: str = Field(max_length=200)
    currency: str = Field(max_length=3)
    email: str = Field(max_length=320)
    payment_method: str | None = Field(default=None, max_length=64)
    created_at: datetime = timestamp_field(default_factory=utcnow)


class LedgerSubscription(SQLModel, table=True):
    __tablename__ = "ledger_subscription"

    id: int | None = Field(default=None, primary_key=True)
    ref: str = Field(max_length=64, unique=True)
    account_ref: str = Field(max_length=64, index=True)
    status: str = Field(max_length=32)
    term_start: date
    term_end: date
    auto_renew: bool = True
    items: list[dict[str, Any]] = json_field(default_factory=list)
    version: int = 1


class LedgerInvoice(SQLModel, table=True):
    __tablename__ = "ledger_invoice"

    id: int | None = Field(default=None, primary_key=True)
    ref: str = Field(max_length=64, unique=True)
    account_ref: str = Field(max_length=64, index=True)
    subscription_ref: str | None = Field(default=None, max_length=64)
    currency: str = Field(max_length=3)
    total: int = minor_units_field()
    balance: int = minor_units_field()
    status: str = Field(max_length=32)
    issued_on: date
    due_on: date
    lines: list[dict[str, Any]] = json_field(default_factory=list)


class LedgerPayment(SQLModel, table=True):
    __tablename__ = "ledger_payment"

    id: int | None = Field(default=None, primary_key=True)
    ref: str = Field(max_length=64, unique=True)
    invoice_ref: str = Field(max_length=64, index=True)
    amount: int = minor_units_field()
    currency: str = Field(max_length=3)
    status: str = Field(max_length=32)
    failure_code: str | None = Field(default=None, max_length=64)
    payment_method: str = Field(max_length=64)
    created_at: datetime = timestamp_field(default_factory=utcnow)


class LedgerRefund(SQLModel, table=True):
    __tablename__ = "ledger_refund"

    id: int | None = Field(default=None, primary_key=True)
    ref: str = Field(max_length=64, unique=True)
    payment_ref: str = Field(max_length=64, index=True)
    invoice_ref: str = Field(max_length=64)
    amount: int = minor_units_field()
    currency: str = Field(max_length=3)
    status: str = Field(max_length=32)
    created_at: datetime = timestamp_field(default_factory=utcnow)


class LedgerIdempotency(SQLModel, table=True):
    """The first response to each idempotent write, replayed for a retry with the same key."""

    __tablename__ = "ledger_idempotency"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=200, unique=True)
    operation: str = Field(max_length=64)
    response: dict[str, Any] = json_field(default_factory=dict)


class CrmAccountRecord(SQLModel, table=True):
    __tablename__ = "crm_account"

    id: int | None = Field(default=None, primary_key=True)
    ref: str = Field(max_length=64, unique=True)
    name: str = Field(max_length=200)
    segment: str = Field(max_length=32)
    owner_name: str = Field(max_length=200)
    owner_email: str = Field(max_length=320)
    country: str | None = Field(default=None, max_length=2)


class CrmContactRecord(SQLModel, table=True):
    __tablename__ = "crm_contact"

    id: int | None = Field(default=None, primary_key=True)
    ref: str = Field(max_length=64, unique=True)
    account_ref: str = Field(max_length=64, index=True)
    name: str = Field(max_length=200)
    email: str = Field(max_length=320)
    role: str | None = Field(default=None, max_length=64)


class CrmOpportunityRecord(SQLModel, table=True):
    __tablename__ = "crm_opportunity"

    id: int | None = Field(default=None, primary_key=True)
    ref: str = Field(max_length=64, unique=True)
    account_ref: str = Field(max_length=64, index=True)
    name: str = Field(max_length=200)
    stage: str = Field(max_length=64)
    amount: int = minor_units_field()
    currency: str = Field(max_length=3)
    close_on: date | None = None
    idempotency_key: str | None = Field(default=None, max_length=200, unique=True)


class CrmSubscriptionRecord(SQLModel, table=True):
    """The local CRM's mirror of a subscription, upserted by `ref` (the subscription number)."""

    __tablename__ = "crm_subscription"

    id: int | None = Field(default=None, primary_key=True)
    ref: str = Field(max_length=64, unique=True)
    account_ref: str = Field(max_length=64, index=True)
    plan: str = Field(max_length=64)
    seats: int
    term_start: date
    term_end: date
    status: str = Field(max_length=32)


class ProvisionedEntitlement(SQLModel, table=True):
    """What the local provisioning target was last told about a deployment."""

    __tablename__ = "provisioned_entitlement"

    id: int | None = Field(default=None, primary_key=True)
    deployment_ref: str = Field(max_length=64, unique=True)
    entitlement: dict[str, Any] = json_field(default_factory=dict)
    digest: str = Field(max_length=64)
    pushes: int = 0
    updated_at: datetime = timestamp_field(default_factory=utcnow)


class LocalMail(SQLModel, table=True):
    """The embedded mailer's mailbox: every e-mail it was asked to send, once per key."""

    __tablename__ = "local_mail"

    id: int | None = Field(default=None, primary_key=True)
    idempotency_key: str = Field(max_length=128, unique=True)
    to: str = Field(max_length=320)
    subject: str = Field(max_length=200)
    body: str = Field(sa_type=sa.Text)
    sent_at: datetime = timestamp_field(default_factory=utcnow)
