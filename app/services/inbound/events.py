"""What a verified delivery says, in neutral terms, and storing it once with its outbox row."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession

from app.db.repositories import webhooks as repo
from app.services import outbox

log = logging.getLogger("app.inbound")

PROCESS = "webhook.process"


class ObjectKind(StrEnum):
    """Which local copy an event is about, whatever the vendor calls it."""

    INVOICE = "INVOICE"  # status, amount paid and payments of an invoice
    ACCOUNT = "ACCOUNT"  # a billing account's payment method
    SUBSCRIPTION = "SUBSCRIPTION"  # whether the provider's subscription is what we sell


@dataclass(frozen=True, slots=True)
class Delivery:
    """A verified event, as much of it as is used (and stored): nothing of its payload.
    `kind` is None for a type nothing is done for (stored, then a no-op); `object_ref` is
    the provider's id of the object (a local row's provider_ref)."""

    provider: str
    event_id: str
    type: str
    kind: ObjectKind | None
    object_ref: str | None


async def receive(session: AsyncSession, delivery: Delivery, now: datetime) -> bool:
    """Store the event and queue its processing, once per event id: True when it was new,
    False for a replay (nothing stored or queued again). No provider call: the worker
    reads the provider when it processes the event."""
    event_id = await repo.insert_once(
        session,
        {
            "provider": delivery.provider,
            "event_id": delivery.event_id,
            "type": delivery.type,
            "kind": delivery.kind.value if delivery.kind else None,
            "object_ref": delivery.object_ref,
            "received_at": now,
        },
    )
    if event_id is None:
        log.info("%s event %s received again; ignored", delivery.provider, delivery.event_id)
        return False
    await outbox.enqueue(
        session, PROCESS, {"webhook_event_id": event_id}, f"webhook:{event_id}", now=now
    )
    return True
