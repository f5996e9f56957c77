"""Plumbing shared by the embedded (local) providers: sessions, refs, JSON codecs.

Each local provider method opens its own session and transaction, as a remote system would
handle each request on its own; nothing here is shared with the caller's unit of work,
except that a read called from a GraphQL request runs in the session the request lends
(app.db.lending): one connection per request.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, Protocol, TypeVar
from uuid import uuid4

from pydantic import TypeAdapter
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db.engine import SQLITE_BEGIN
from app.db.lending import lent_session

T = TypeVar("T")


class HasRef(Protocol):
    id: int | None
    ref: str


@asynccontextmanager
async def read_session(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """A read transaction of its own, or the session a request lent (app.db.lending)."""
    lent = lent_session()
    if lent is not None:
        yield lent
        return
    async with sessions() as session, session.begin():
        yield session


@asynccontextmanager
async def write_session(
    sessions: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    """A write transaction; on SQLite it takes the write lock up front (BEGIN IMMEDIATE)."""
    async with sessions() as session, session.begin():
        await session.connection(execution_options={SQLITE_BEGIN: "IMMEDIATE"})
        yield session


async def add_with_ref(session: AsyncSession, row: HasRef, prefix: str) -> None:
    """Insert `row` and give it a readable ref derived from its row id ("acct_000042")."""
    row.ref = f"{prefix}_pending_{uuid4().hex}"
    session.add(row)
    await session.flush()
    row.ref = f"{prefix}_{row.id:06d}"
    await session.flush()


_ADAPTERS: dict[type[Any], TypeAdapter[Any]] = {}


def _adapter(kind: type[Any]) -> TypeAdapter[Any]:
    """Pydantic validators for records, built on first use (not at import) and reused."""
    adapter = _ADAPTERS.get(kind)
    if adapter is None:
        adapter = _ADAPTERS[kind] = TypeAdapter(kind)
    return adapter


def dump_json(kind: type[T], value: T) -> Any:
    """A record (frozen dataclass, tuple of them, ...) as JSON-ready Python values."""
    return _adapter(kind).dump_python(value, mode="json")


def load_json(kind: type[T], data: Any) -> T:
    result: T = _adapter(kind).validate_python(data)
    return result


async def retry_on_conflict(attempt: Callable[[], Awaitable[T]]) -> T:
    """Run `attempt`; when a concurrent writer won a unique-key race, run it once more (it
    then finds the winner's row and updates or replays it)."""
    try:
        return await attempt()
    except IntegrityError:
        return await attempt()
