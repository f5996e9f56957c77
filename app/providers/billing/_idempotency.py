"""The local ledger's idempotency store (Stripe-like): the first response per key is kept in
LedgerIdempotency with the operation name and a digest of the request, and replayed."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from app.db.tables.local_providers import LedgerIdempotency
from app.providers._sql import dump_json, load_json, retry_on_conflict, write_session
from app.providers.errors import ProviderRejected

PROVIDER = "local"
MAX_KEY_LENGTH = 200

R = TypeVar("R")
Work = Callable[[AsyncSession], Awaitable[R]]


async def run_once(
    sessions: async_sessionmaker[AsyncSession],
    operation: str,
    key: str,
    request: Any,
    kind: type[R],
    work: Work[R],
) -> R:
    """Run `work` in a write transaction once per key; afterwards replay its stored result.

    `request` (JSON-ready) is digested, so the same key with other arguments is refused.
    """
    check_key(key)
    digest = request_digest(operation, request)
    return await retry_on_conflict(lambda: _attempt(sessions, operation, key, digest, kind, work))


async def _attempt(
    sessions: async_sessionmaker[AsyncSession],
    operation: str,
    key: str,
    digest: str,
    kind: type[R],
    work: Work[R],
) -> R:
    async with write_session(sessions) as session:
        found = await claim(session, key, operation, digest)
        if found.replay is not None:
            return load_json(kind, found.replay)
        result = await work(session)
        found.complete(dump_json(kind, result))
        return result


def request_digest(operation: str, request: Any) -> str:
    canonical = json.dumps([operation, request], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(slots=True)
class Claim:
    """Either a stored result to replay, or a fresh claim on the key to complete."""

    row: LedgerIdempotency
    replay: Any | None

    def complete(self, result: Any) -> None:
        self.row.response = {**self.row.response, "result": result}


def check_key(key: str) -> None:
    if not key or len(key) > MAX_KEY_LENGTH:
        raise ProviderRejected(PROVIDER, "invalid_request", "idempotency key must be 1-200 chars")


async def claim(session: AsyncSession, key: str, operation: str, digest: str) -> Claim:
    """Return the stored result for `key`, or insert a claim on it (IntegrityError on a race)."""
    query = select(LedgerIdempotency).where(col(LedgerIdempotency.key) == key)
    stored = (await session.execute(query)).scalar_one_or_none()
    if stored is None:
        row = LedgerIdempotency(key=key, operation=operation, response={"request": digest})
        session.add(row)
        await session.flush()
        return Claim(row=row, replay=None)
    if stored.operation != operation or stored.response.get("request") != digest:
        raise ProviderRejected(
            PROVIDER,
            "idempotency_key_reused",
            f"idempotency key already used for another request ({stored.operation})",
        )
    return Claim(row=stored, replay=stored.response["result"])
