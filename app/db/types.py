"""Column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlmodel import Field, SQLModel

# Named constraints, so later migrations can alter them (SQLite batch mode needs the names).
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(sa.TypeDecorator[datetime]):
    """Stores UTC instants; always hands back timezone-aware datetimes (SQLite drops the zone)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def enum_field(enum: type[StrEnum], **kwargs: Any) -> Any:
    """A VARCHAR column holding an enum's value (no native PostgreSQL enum to migrate)."""
    column_type = sa.Enum(
        enum,
        native_enum=False,
        create_constraint=False,
        length=32,
        values_callable=lambda members: [m.value for m in members],
    )
    return Field(sa_type=column_type, **kwargs)


def timestamp_field(**kwargs: Any) -> Any:
    return Field(sa_type=UTCDateTime, **kwargs)


# SQLite's INTEGER already holds 64 bits; declaring it BIGINT there would only make a
# migration rebuild every money table (and their foreign keys) for nothing.
MINOR_UNITS = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def minor_units_field(**kwargs: Any) -> Any:
    """An amount in minor units: 64-bit, as a large account's totals pass 2^31 cents."""
    return Field(sa_type=MINOR_UNITS, **kwargs)


def json_field(**kwargs: Any) -> Any:
    return Field(sa_type=sa.JSON, **kwargs)
