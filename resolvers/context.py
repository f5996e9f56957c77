"""One RequestContext per request: principal, scope, a DB session used one statement at a
time, providers, and the request's DataLoaders. A request holds at most one database
connection at a time: holding one while waiting for another starves the pool under load
(every request holds one, none gets its second)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.authenticate import read_scope
from app.auth.principals import Principal
from app.db.lending import lending
from app.db.scope import ReadScope
from app.http.links import base_url
from app.providers.registry import uses_app_database
from app.runtime import Runtime

T = TypeVar("T")


class RequestContext:
    def __init__(self, runtime: Runtime, principal: Principal, request_id: str | None = None):
        self.runtime = runtime
        self.principal = principal
        self.scope: ReadScope = read_scope(principal)
        self.request_id = request_id or uuid.uuid4().hex
        self.today: date = runtime.clock.today()
        # Absolute links start here; the HTTP view sets it from the request (app/http/links).
        self.base_url = base_url(runtime.settings)
        self._session: AsyncSession | None = None
        # An AsyncSession runs one statement at a time; sibling DataLoaders take turns.
        self._lock = asyncio.Lock()
        self._running: set[asyncio.Future[Any]] = set()  # see `uncancelled`
        # Set by the schema when the database could not serve this request (pool exhausted,
        # connection lost): the whole answer is then a retryable 503.
        self.database_unavailable: BaseException | None = None
        # The hash of the registered document this request runs, when schema.trusted_documents
        # found it registered (schema.compiled runs it from its plan).
        self.trusted_document: str | None = None
        from resolvers.loaders import Loaders

        self.loaders = Loaders(self)

    def became(self, principal: Principal) -> None:
        """The caller changed during the request (a first purchase made them a customer's
        owner): the rest of the request reads with their new scope."""
        self.principal = principal
        self.scope = read_scope(principal)

    async def read(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        return await self.uncancelled(self._read(work))

    async def call_provider(self, provider: object, work: Callable[[], Awaitable[T]]) -> T:
        """A provider call. An embedded provider keeps its data in this database: its reads
        take their turn with the request's and run in the request's session, lent for the
        call (app.db.lending), instead of a connection of their own. A remote provider's call
        runs beside the reads."""
        if not uses_app_database(provider):
            return await self.uncancelled(work())
        return await self.read(lambda session: self._lent(session, work))

    @staticmethod
    async def _lent(session: AsyncSession, work: Callable[[], Awaitable[T]]) -> T:
        with lending(session):
            return await work()

    async def uncancelled(self, work: Awaitable[T]) -> T:
        """Runs `work` to its end even if what awaits it is cancelled: graphql-core cancels
        the sibling fields of a field that fails, and a DataLoader (resolvers.dataloader) a
        batch that no field awaits any more. A statement cut off half-way closes asyncpg's
        connection (the request then ended in a 500). `close` waits for such work first."""
        task = asyncio.ensure_future(work)
        self._running.add(task)
        task.add_done_callback(self._running.discard)
        return await asyncio.shield(task)

    async def _read(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        async with self._lock:
            if self._session is None:
                self._session = self.runtime.sessions()
            return await work(self._session)

    def adopt(self, session: AsyncSession) -> None:
        """Read with `session` (already open, e.g. the one that authenticated the caller)."""
        self._session = session

    async def close(self) -> None:
        if self._running:
            await asyncio.wait(set(self._running))
        if self._session is not None:
            await self._session.close()
            self._session = None
