"""Trusted documents (the persisted-operation allow-list): who may send any operation, the
in-process cache of registered documents, and registering documents."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.auth.principals import Principal, PrincipalKind
from app.clock import SystemClock
from app.config import Settings, TrustedDocumentsMode
from app.db.engine import create_engine, create_session_factory
from app.db.repositories.trusted_documents import document_text, insert_missing
from app.db.unit_of_work import unit_of_work
from app.domain.document_ids import document_hash, document_id

T = TypeVar("T")
# Runs a query on a session: RequestContext.read, or `in_own_session(sessions)`.
Read = Callable[[Callable[[AsyncSession], Awaitable[T]]], Awaitable[T]]

# Their tooling is their own (partners) or ours to audit (staff): any operation, as before.
UNRESTRICTED = frozenset({PrincipalKind.PARTNER, PrincipalKind.ADMIN})


def may_send_any_operation(mode: TrustedDocumentsMode, principal: Principal) -> bool:
    return mode is TrustedDocumentsMode.OFF or principal.kind in UNRESTRICTED


def in_own_session(sessions: async_sessionmaker[AsyncSession]) -> Read[T]:
    """A `Read` that opens a session of its own for each query and closes it at once."""

    async def read(work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        async with sessions() as session:
            return await work(session)

    return read


class TrustedDocumentCache:
    """The registered documents this process has looked up (hash -> text; the least recently
    used beyond `size` are dropped) and the hashes recently found unregistered, so neither a
    trusted document nor a repeated unknown one costs a query per request. Registered texts
    never change (the hash is their name), so hits need no expiry; a miss is asked again
    once it is `miss_ttl` old, which is how other processes' registrations show up."""

    def __init__(self, size: int = 1024, miss_ttl: timedelta = timedelta(seconds=30)) -> None:
        self.size = size
        self.miss_ttl = miss_ttl
        self._known: OrderedDict[str, str] = OrderedDict()
        self._missed: OrderedDict[str, datetime] = OrderedDict()

    async def text(self, sha256: str, now: datetime, read: Read[str | None]) -> str | None:
        """The registered text with this hash, or None. A lookup runs through `read` (the
        request's own session: a request holds one connection at a time)."""
        known = self._known.get(sha256)
        if known is not None:
            self._known.move_to_end(sha256)
            return known
        missed_at = self._missed.get(sha256)
        if missed_at is not None and now < missed_at + self.miss_ttl:
            return None
        text = await read(lambda session: document_text(session, sha256))
        if text is None:
            self._remember(self._missed, sha256, now)
        else:
            self._missed.pop(sha256, None)
            self._remember(self._known, sha256, text)
        return text

    def _remember(self, entries: OrderedDict[str, T], sha256: str, value: T) -> None:
        entries[sha256] = value
        entries.move_to_end(sha256)
        while len(entries) > self.size:
            entries.popitem(last=False)


class InvalidDocuments(Exception):
    """Documents that cannot be registered: every problem, one per line."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class DocumentSource:
    name: str
    text: str


@dataclass(frozen=True)
class Registration:
    document_id: str
    name: str
    created: bool


async def register_documents(
    session: AsyncSession, sources: Sequence[DocumentSource], now: datetime
) -> list[Registration]:
    """Register every source not registered yet (by the hash of its exact text); one
    registration per source, in order: `created` when this call stored it."""
    unique: dict[str, DocumentSource] = {}
    for source in sources:
        unique.setdefault(document_hash(source.text), source)
    rows = [(sha256, source.name, source.text) for sha256, source in unique.items()]
    inserted = await insert_missing(session, rows, now)
    registrations = []
    for source in sources:
        sha256 = document_hash(source.text)
        created = sha256 in inserted and unique[sha256] is source
        registrations.append(Registration(document_id(sha256), source.name, created))
    return registrations


async def register_in_database(
    settings: Settings, sources: Sequence[DocumentSource]
) -> list[Registration]:
    """`fulfillment documents register`: one transaction in the configured database."""
    engine = create_engine(settings)
    try:
        async with unit_of_work(create_session_factory(engine)) as session:
            return await register_documents(session, sources, SystemClock().now())
    finally:
        await engine.dispose()
