"""Small helpers for building rows: ids after a flush, and readable numbers."""

from __future__ import annotations

from typing import Protocol


class HasId(Protocol):
    id: int | None


def ident(row: HasId) -> int:
    """The id of a flushed row."""
    if row.id is None:
        raise RuntimeError(f"{type(row).__name__} has no id yet: flush it first")
    return row.id
