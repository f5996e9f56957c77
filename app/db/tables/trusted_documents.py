"""Trusted documents: the GraphQL operations the first-party clients may send by id, shared
by every replica."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.db.types import timestamp_field


class TrustedDocument(SQLModel, table=True):
    __tablename__ = "trusted_document"

    # Lower-case hex SHA-256 of `document` (UTF-8): the id is `sha256:<this>`.
    sha256: str = Field(max_length=64, primary_key=True)
    name: str = Field(max_length=200)
    document: str = Field(sa_type=sa.Text)
    registered_at: datetime = timestamp_field()
