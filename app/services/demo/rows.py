"""Small helpers for building rows: ids after a flush, and readable numbers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession


class HasId(Protocol):
    id: int | None


def ident(row: HasId) -> int:
    """The id of a flushed row."""
    if row.id is None:
        raise RuntimeError(f"{type(row).__name__} has no id yet: flush it first")
    return row.id


@dataclass
class Numbering:
    """Readable numbers ("A-S00000042") handed out after the highest one already used."""

    prefix: str
    width: int
    next: int = 1

    def take(self) -> str:
        number = f"{self.prefix}{self.next:0{self.width}d}"
        self.next += 1
        return number

    async def start_after_existing(self, session: AsyncSession, column: Any) -> Numbering:
        pattern = f"{self.prefix}{'_' * self.width}"
        highest = await session.scalar(sa.select(sa.func.max(column)).where(column.like(pattern)))
        suffix = str(highest or "").removeprefix(self.prefix)
        self.next = int(suffix) + 1 if suffix.isdigit() else 1
        return self
