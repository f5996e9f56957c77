"""A request lends its session to the embedded providers' reads.

The local providers keep their rows in the application's database and, called on their own,
read in a session (and so a pooled connection) of their own, as a remote system would answer
on its own. Called from a request, that would be a second connection while the request holds
its first: under load every request holds one and waits for another, and the pool runs dry.
So a request that calls such a provider lends its session for the call (its reads take turns
on it, see resolvers.context), and the provider's reads run in it: one connection per request,
one transaction. Writes never use a lent session; they keep their own transaction."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from sqlalchemy.ext.asyncio import AsyncSession

_lent: ContextVar[AsyncSession | None] = ContextVar("lent_session", default=None)


@contextmanager
def lending(session: AsyncSession) -> Iterator[None]:
    """Within the block (this task only), embedded providers read in `session`."""
    token = _lent.set(session)
    try:
        yield
    finally:
        _lent.reset(token)


def lent_session() -> AsyncSession | None:
    return _lent.get()
