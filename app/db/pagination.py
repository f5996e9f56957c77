"""Keyset pages by id: top-level lists page with a cursor, child lists page per parent in one
query (ROW_NUMBER over the parent), so a DataLoader fetches N parents' pages at once."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class PageRequest:
    first: int
    after_id: int | None = None
    descending: bool = False


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: Sequence[T]
    has_next: bool
    has_previous: bool


def _order_and_cursor(id_column: Any, request: PageRequest) -> tuple[Any, Any | None]:
    order = id_column.desc() if request.descending else id_column.asc()
    if request.after_id is None:
        return order, None
    after = id_column < request.after_id if request.descending else id_column > request.after_id
    return order, after


async def fetch_page(
    session: AsyncSession, stmt: sa.Select[Any], id_column: Any, request: PageRequest
) -> Page[Any]:
    order, after = _order_and_cursor(id_column, request)
    if after is not None:
        stmt = stmt.where(after)
    rows = (await session.scalars(stmt.order_by(order).limit(request.first + 1))).all()
    return Page(rows[: request.first], len(rows) > request.first, request.after_id is not None)


async def fetch_child_pages(
    session: AsyncSession,
    entity: Any,
    parent_column: Any,
    parent_ids: Sequence[int],
    request: PageRequest,
    *conditions: Any,
    plain: bool = False,
) -> dict[int, Page[Any]]:
    """The first page of children for each parent, in a single statement. `plain`: Core rows
    with the entity's columns instead of ORM objects (same attributes, read-only, far cheaper
    to build), for lists that are only read."""
    order, after = _order_and_cursor(entity.id, request)
    position = sa.func.row_number().over(partition_by=parent_column, order_by=order)
    inner = sa.select(entity, position.label("position")).where(
        parent_column.in_(sorted(set(parent_ids))), *conditions
    )
    if after is not None:
        inner = inner.where(after)
    ranked = inner.subquery()
    if plain:
        stmt = sa.select(*(ranked.c[column.key] for column in entity.__table__.columns))
    else:
        stmt = sa.select(sa.orm.aliased(entity, ranked))
    stmt = stmt.where(ranked.c.position <= request.first + 1).order_by(
        ranked.c[parent_column.key], ranked.c.position
    )
    result = await (session.execute(stmt) if plain else session.scalars(stmt))
    grouped: dict[int, list[Any]] = defaultdict(list)
    for row in result.all():
        grouped[getattr(row, parent_column.key)].append(row)
    return {
        parent: Page(
            grouped[parent][: request.first],
            len(grouped[parent]) > request.first,
            request.after_id is not None,
        )
        for parent in parent_ids
    }
