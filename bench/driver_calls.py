"""What the PostgreSQL driver sends, counted below SQLAlchemy: every asyncpg call that talks
to the server (a simple query such as BEGIN / COMMIT / ROLLBACK or the pre-ping's `;`, a
Parse for a new prepared statement, a Bind/Execute of a prepared one). SQLAlchemy's
`before_cursor_execute` sees only the statements it was asked to run; a pool's liveness
checks and the driver's transaction control show up here only."""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

_CONNECTION_CALLS = ("execute", "executemany", "fetch", "fetchrow", "fetchval", "fetchmany")
_STATEMENT_CALLS = ("fetch", "fetchrow", "fetchval", "fetchmany", "executemany")


@dataclass
class DriverCalls:
    """One entry per round trip: (what, the statement's first word), e.g. ("prepared",
    "SELECT"), ("query", "BEGIN"), ("prepare", "SELECT")."""

    calls: list[tuple[str, str]] = field(default_factory=list)

    def reset(self) -> None:
        self.calls.clear()

    @property
    def count(self) -> int:
        return len(self.calls)

    def of(self, kind: str, word: str | None = None) -> int:
        return sum(1 for k, w in self.calls if k == kind and (word is None or w == word))

    def summary(self) -> dict[str, int]:
        return dict(Counter(f"{kind} {word}" for kind, word in self.calls))


def _first_word(sql: object) -> str:
    words = str(sql).split(None, 1)
    return words[0].upper().rstrip(";") if words else ""


def _wrapped(original: Callable[..., Any], calls: list[tuple[str, str]], kind: str) -> Any:
    @functools.wraps(original)
    async def call(self: Any, *args: Any, **kwargs: Any) -> Any:
        sql = getattr(self, "_query", None) if kind == "prepared" else (args[0] if args else "")
        calls.append((kind, _first_word(sql) or ";"))
        return await original(self, *args, **kwargs)

    return call


@contextmanager
def counting_driver_calls() -> Iterator[DriverCalls]:
    """Counts asyncpg's calls in this process while the block runs (then restores them)."""
    from asyncpg.connection import Connection
    from asyncpg.prepared_stmt import PreparedStatement

    found = DriverCalls()
    patched: list[tuple[type, str, Any]] = []
    targets = [(Connection, name, "query") for name in _CONNECTION_CALLS]
    targets += [(Connection, "prepare", "prepare")]
    targets += [(PreparedStatement, name, "prepared") for name in _STATEMENT_CALLS]
    try:
        for cls, name, kind in targets:
            original = cls.__dict__[name]
            patched.append((cls, name, original))
            setattr(cls, name, _wrapped(original, found.calls, kind))
        yield found
    finally:
        for cls, name, original in patched:
            setattr(cls, name, original)
