"""Batch reads shared by the repositories: by ids, and children grouped by parent."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any, Protocol, TypeVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col


class HasId(Protocol):
    """A table with an integer primary key named `id` (None until inserted)."""

    id: int | None


T = TypeVar("T", bound=HasId)


async def by_ids(
    session: AsyncSession, entity: type[T], ids: Sequence[int], *conditions: Any
) -> dict[int, T]:
    if not ids:
        return {}
    stmt = sa.select(entity).where(col(entity.id).in_(sorted(set(ids))), *conditions)
    rows = (await session.scalars(stmt)).all()
    return {row.id: row for row in rows if row.id is not None}


async def children(
    session: AsyncSession,
    entity: type[T],
    parent_column: Any,
    parent_ids: Sequence[int],
    *conditions: Any,
    order_by: Sequence[Any] = (),
) -> dict[int, list[T]]:
    grouped: dict[int, list[T]] = defaultdict(list)
    if not parent_ids:
        return grouped
    order = order_by or (col(entity.id),)
    stmt = (
        sa.select(entity)
        .where(parent_column.in_(sorted(set(parent_ids))), *conditions)
        .order_by(*order)
    )
    for row in (await session.scalars(stmt)).all():
        grouped[getattr(row, parent_column.key)].append(row)
    return grouped


async def child_rows(
    session: AsyncSession,
    entity: type[Any],
    parent_column: Any,
    parent_ids: Sequence[int],
    *conditions: Any,
    order_by: Sequence[Any] = (),
) -> dict[int, list[sa.Row[Any]]]:
    """`children` as Core rows with the entity's columns: the same attributes, read-only,
    far cheaper to build than ORM objects; for lists that are only read."""
    grouped: dict[int, list[sa.Row[Any]]] = defaultdict(list)
    if not parent_ids:
        return grouped
    table = entity.__table__
    stmt = (
        sa.select(*table.columns)
        .where(parent_column.in_(sorted(set(parent_ids))), *conditions)
        .order_by(*(order_by or (table.c.id,)))
    )
    for row in (await session.execute(stmt)).all():
        grouped[getattr(row, parent_column.key)].append(row)
    return grouped
