"""What the outbox hands a handler, and what a handler is.

A handler works in two steps, so that no transaction is open during a provider call and
the outcome is recorded atomically with the message's own state:
1. `perform(runtime, message)`: read what it needs, call the provider, and return a
   `Record`: the changes to make once it succeeded (run in the transaction that marks the
   message DONE, and only if this worker still holds the claim).
2. `record_failure(session, message, gave_up=...)`: mirror a failed attempt on the domain
   row (in the transaction that schedules the retry, or marks the message FAILED).

`perform` raises to fail: a `ProviderError` with `retryable` (ProviderUnavailable), a
timeout or any unexpected exception is retried; `PermanentFailure` or a non-retryable
provider error (ProviderRejected, ProviderNotFound) fails the message for good.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from app.db.tables import OutboxMessage
from app.runtime import Runtime

Record = Callable[[AsyncSession], Awaitable[None]]


class PermanentFailure(Exception):
    """Retrying cannot help (the message names nothing that exists, a price is missing)."""


@dataclass(frozen=True, slots=True)
class Claimed:
    """A claimed message, detached from the session that claimed it."""

    id: int
    topic: str
    payload: Mapping[str, Any]
    idempotency_key: str
    attempts: int
    subscription_id: int | None
    locked_until: datetime | None

    @classmethod
    def of(cls, row: OutboxMessage) -> Claimed:
        assert row.id is not None
        return cls(
            id=row.id,
            topic=row.topic,
            payload=dict(row.payload),
            idempotency_key=row.idempotency_key,
            attempts=row.attempts,
            subscription_id=row.subscription_id,
            locked_until=row.locked_until,
        )

    def subscription(self) -> int:
        """The subscription the payload names; a message without one cannot be carried out."""
        found = self.payload.get("subscription_id")
        if not isinstance(found, int) or isinstance(found, bool):
            raise PermanentFailure(f"message {self.id} names no subscription_id")
        return found


class Handler(Protocol):
    async def perform(self, runtime: Runtime, message: Claimed) -> Record: ...

    async def record_failure(
        self, session: AsyncSession, message: Claimed, *, gave_up: bool
    ) -> None: ...
