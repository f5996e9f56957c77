"""The outbox job: claim due messages, carry each out through its topic's handler, record
the outcome.

One round: claim a batch in one short write transaction (PostgreSQL: `FOR UPDATE SKIP
LOCKED`, then the lease is written; SQLite: the write lock serialises claimers), then for
each message, with no transaction open, call the handler (bounded by `handler_timeout`),
then record the outcome in one transaction that re-checks the claim:
- success: DONE, `processed_at`, and the handler's own changes (e.g. PROVISIONED);
- a retryable failure: `attempts` + 1, `last_error`, `available_at` = now + backoff, still
  PENDING, and the handler mirrors it (RETRYING);
- a permanent failure, or the `max_attempts`-th failure: FAILED (and FAILED on the row).

Never twice at once: a claim is a lease; before a message whose lease could run out while
its handler runs, the lease is renewed (or, if another worker has taken it over, the message
is skipped); the outcome is recorded only while this worker still holds the claim. A worker
that dies leaves its claims to expire, and the messages are claimed again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from app.db.repositories import outbox as repo
from app.db.tables import OutboxMessage
from app.db.unit_of_work import unit_of_work
from app.domain.enums import OutboxStatus
from app.providers.errors import ProviderError
from app.runtime import Runtime
from app.services.worker.backoff import retry_delay
from app.services.worker.handler import Claimed, Handler, PermanentFailure, Record
from app.services.worker.handlers import HANDLERS
from app.services.worker.options import WorkerOptions

log = logging.getLogger("app.worker.outbox")

ERROR_LIMIT = 2000  # OutboxMessage.last_error


@dataclass(frozen=True, slots=True)
class Failure:
    error: str
    retryable: bool


class OutboxJob:
    name = "outbox"

    def __init__(self, options: WorkerOptions, handlers: Mapping[str, Handler] = HANDLERS) -> None:
        self.options = options
        self.handlers = handlers

    async def run(self, runtime: Runtime, now: datetime) -> int:
        """One round: claim a batch and carry it out; the number of messages claimed."""
        claimed = await self.claim(runtime, now)
        if self.options.concurrency == 1:
            for message in claimed:
                await self.process(runtime, message)
        else:
            slots = asyncio.Semaphore(self.options.concurrency)

            async def one(message: Claimed) -> None:
                async with slots:
                    await self.process(runtime, message)

            async with asyncio.TaskGroup() as group:
                for message in claimed:
                    group.create_task(one(message))
        return len(claimed)

    async def claim(self, runtime: Runtime, now: datetime) -> list[Claimed]:
        async with unit_of_work(runtime.sessions) as session:
            rows = await repo.claim_due(
                session,
                topics=list(self.handlers),
                now=now,
                worker_id=self.options.worker_id,
                lease_until=now + self.options.lease,
                limit=self.options.batch_size,
            )
            claimed = [Claimed.of(row) for row in rows]
        if claimed:
            log.debug("claimed %d messages", len(claimed))
        return claimed

    async def process(self, runtime: Runtime, message: Claimed) -> None:
        """Carry out one claimed message; never raises (a failure to record the outcome
        leaves the claim to expire, and the message is tried again)."""
        try:
            if not await self._hold(runtime, message):
                log.warning("message %s: claim lost before it started; skipped", message.id)
                return
            outcome = await self._attempt(runtime, message)
            if isinstance(outcome, Failure):
                await self._record_failure(runtime, message, outcome)
            else:
                await self._record_success(runtime, message, outcome)
        except Exception:
            log.exception("message %s: could not record the outcome", message.id)

    async def _hold(self, runtime: Runtime, message: Claimed) -> bool:
        """Renew the lease if it could run out before the handler's timeout (later messages
        of a long batch); False when another worker holds the message now."""
        now = runtime.clock.now()
        margin = self.options.handler_timeout * 2
        if message.locked_until is not None and message.locked_until - now >= margin:
            return True  # our lease outlasts the handler: nobody else can claim it meanwhile
        async with unit_of_work(runtime.sessions) as session:
            row = await repo.claimed_for_update(session, message.id, self.options.worker_id)
            if row is None:
                return False
            row.locked_until = now + self.options.lease
            return True

    async def _attempt(self, runtime: Runtime, message: Claimed) -> Record | Failure:
        handler = self.handlers[message.topic]
        timeout = self.options.handler_timeout.total_seconds()
        try:
            async with asyncio.timeout(timeout):
                return await handler.perform(runtime, message)
        except ProviderError as error:
            return Failure(str(error), retryable=error.retryable)
        except PermanentFailure as error:
            return Failure(str(error), retryable=False)
        except TimeoutError:
            return Failure(f"timed out after {timeout:g}s", retryable=True)
        except Exception as error:
            # A bug or an outage we did not type: retried; details go to the log, not the row.
            log.exception("message %s (%s) failed", message.id, message.topic)
            return Failure(f"internal error ({type(error).__name__})", retryable=True)

    async def _record_success(self, runtime: Runtime, message: Claimed, record: Record) -> None:
        now = runtime.clock.now()
        async with unit_of_work(runtime.sessions) as session:
            row = await repo.claimed_for_update(session, message.id, self.options.worker_id)
            if row is None:
                log.warning("message %s: claim lost while it ran; outcome dropped", message.id)
                return
            row.status, row.processed_at, row.last_attempt_at = OutboxStatus.DONE, now, now
            _release(row)
            await record(session)

    async def _record_failure(self, runtime: Runtime, message: Claimed, failure: Failure) -> None:
        now = runtime.clock.now()
        async with unit_of_work(runtime.sessions) as session:
            row = await repo.claimed_for_update(session, message.id, self.options.worker_id)
            if row is None:
                log.warning("message %s: claim lost while it ran; failure dropped", message.id)
                return
            row.attempts += 1
            row.last_error = failure.error[:ERROR_LIMIT]
            row.last_attempt_at = now
            _release(row)
            gave_up = not failure.retryable or row.attempts >= self.options.max_attempts
            if gave_up:
                row.status, row.processed_at = OutboxStatus.FAILED, now
                log.error("message %s (%s) failed for good: %s", row.id, row.topic, failure.error)
            else:
                row.available_at = now + retry_delay(
                    row.attempts, row.idempotency_key, self.options
                )
            handler = self.handlers[message.topic]
            await handler.record_failure(session, message, gave_up=gave_up)


def _release(row: OutboxMessage) -> None:
    row.locked_by, row.locked_until = None, None
