"""Who buys, who signs in, who resells, and what a subscription is applied to."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.db.types import enum_field, timestamp_field, utcnow
from app.domain.enums import CustomerKind, DeploymentKind, MemberRole, TokenKind

MAX_EXTERNAL_ID_LENGTH = 64  # a portal user's external id (the token's `sub`)


class Partner(SQLModel, table=True):
    __tablename__ = "partner"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    crm_ref: str | None = Field(default=None, max_length=64)
    created_at: datetime = timestamp_field(default_factory=utcnow)


class Customer(SQLModel, table=True):
    __tablename__ = "customer"
    # A first purchase's customer, found again by its creator and order key (migration 0020).
    __table_args__ = (
        sa.Index("ix_customer_created_by_creation_key", "created_by", "creation_key", unique=True),
    )

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200, index=True)
    email: str = Field(max_length=320, index=True)
    country: str = Field(max_length=2)
    kind: CustomerKind = enum_field(CustomerKind, default=CustomerKind.DIRECT)
    managing_partner_id: int | None = Field(default=None, foreign_key="partner.id", index=True)
    crm_ref: str | None = Field(default=None, max_length=64)
    created_by: str | None = Field(
        default=None, max_length=MAX_EXTERNAL_ID_LENGTH
    )  # the buyer's external id
    creation_key: str | None = Field(default=None, max_length=128)  # the order's key
    created_at: datetime = timestamp_field(default_factory=utcnow)


class PortalUser(SQLModel, table=True):
    __tablename__ = "portal_user"

    id: int | None = Field(default=None, primary_key=True)
    external_id: str = Field(max_length=MAX_EXTERNAL_ID_LENGTH, unique=True)
    email: str = Field(max_length=320)
    name: str = Field(max_length=200)


class Membership(SQLModel, table=True):
    __tablename__ = "membership"
    __table_args__ = (sa.UniqueConstraint("customer_id", "user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    user_id: int = Field(foreign_key="portal_user.id", index=True)
    role: MemberRole = enum_field(MemberRole)


class ApiToken(SQLModel, table=True):
    """Opaque bearer tokens for partners, staff and the product; only a SHA-256 is kept."""

    __tablename__ = "api_token"

    id: int | None = Field(default=None, primary_key=True)
    kind: TokenKind = enum_field(TokenKind)
    name: str = Field(max_length=200)
    token_hash: str = Field(max_length=64, unique=True)
    partner_id: int | None = Field(default=None, foreign_key="partner.id", index=True)
    created_at: datetime = timestamp_field(default_factory=utcnow)
    revoked_at: datetime | None = timestamp_field(default=None)


class Deployment(SQLModel, table=True):
    """A SaaS namespace (top-level group id) or a self-managed instance (uuid)."""

    __tablename__ = "deployment"

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    kind: DeploymentKind = enum_field(DeploymentKind)
    external_id: str = Field(max_length=64, unique=True)
    name: str = Field(max_length=200)
    trial_started_on: date | None = None
    created_at: datetime = timestamp_field(default_factory=utcnow)
