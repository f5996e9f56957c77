"""`webhook.process`: the outbox handler that carries out one stored event. It reads the
object's current state from the billing provider (no transaction open), then applies it
and marks the event processed in the transaction that finishes the message. An event of a
type nothing is done for, or about an object nobody knows, ends as a logged no-op."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from sqlalchemy.ext.asyncio import AsyncSession

from app.db.repositories import webhooks as repo
from app.db.tables import WebhookEvent
from app.db.unit_of_work import unit_of_work
from app.runtime import Runtime
from app.services.inbound import accounts, invoices, subscriptions
from app.services.inbound.events import ObjectKind
from app.services.inbound.refresh import Apply, Outcome, Refresh, nothing_to_apply
from app.services.worker.handler import Claimed, PermanentFailure, Record

log = logging.getLogger("app.inbound")

REFRESHES: Mapping[str, Refresh] = {
    ObjectKind.INVOICE: invoices.refresh,
    ObjectKind.ACCOUNT: accounts.refresh,
    ObjectKind.SUBSCRIPTION: subscriptions.refresh,
}


class ProcessWebhook:
    async def perform(self, runtime: Runtime, message: Claimed) -> Record:
        event_id = message.payload.get("webhook_event_id")
        if not isinstance(event_id, int):
            raise PermanentFailure(f"message {message.id} names no webhook_event_id")
        async with unit_of_work(runtime.sessions, write=False) as session:
            event = await session.get(WebhookEvent, event_id)
        if event is None:
            raise PermanentFailure(f"webhook event {event_id} does not exist")
        apply = await _refresh(runtime, event)

        async def record(session: AsyncSession) -> None:
            now = runtime.clock.now()
            outcome = await apply(session, now)
            await repo.mark_processed(session, event_id, outcome.value, now)
            log.info(
                "%s event %s (%s, %s): %s",
                event.provider,
                event.event_id,
                event.type,
                event.object_ref,
                outcome.value,
            )

        return record

    async def record_failure(
        self, session: AsyncSession, message: Claimed, *, gave_up: bool
    ) -> None:
        """The outbox row (attempts, last error) is the event's processing status."""


async def _refresh(runtime: Runtime, event: WebhookEvent) -> Apply:
    refresh = REFRESHES.get(event.kind or "")
    if refresh is None or event.object_ref is None:
        return nothing_to_apply(Outcome.IGNORED)
    return await refresh(runtime, event.object_ref)
