"""`integration.deliver`: POST one integration event to one subscriber, signed, from the
outbox (docs/api-guide.md "Integration events").

At least once: a delivery is DELIVERED on a 2xx answer; anything else (another status, a
timeout, no connection) is retried by the worker with its backoff, and after its
`max_attempts` the delivery is FAILED, its last attempt marked `gave_up`. The subscription's
next event for this subscriber then goes out (the outbox's ordering key holds it back only
until this one is DONE or FAILED); a FAILED delivery is sent again by a redelivery. A 410 Gone
deactivates the subscriber at once and fails the delivery for good.

Every POST is logged as an attempt (status, error, duration) in a transaction of its own
right after it, so the log shows what was sent even when the outcome is not recorded (the
claim lost)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.db.tables import (
    IntegrationAttempt,
    IntegrationDelivery,
    IntegrationEvent,
    IntegrationSubscriber,
)
from app.db.unit_of_work import unit_of_work
from app.domain.enums import DeliveryStatus
from app.providers.errors import ProviderUnavailable
from app.providers.webhooks import Sent
from app.runtime import Runtime
from app.services import integration_subscribers
from app.services.worker.handler import Claimed, PermanentFailure, Record

PROVIDER = "integration"
GONE = 410


def body_of(event: IntegrationEvent) -> bytes:
    """The event as POSTed: the same bytes on every delivery of it."""
    envelope: dict[str, Any] = {
        "id": event.public_id,
        "kind": event.kind,
        "occurredAt": event.occurred_at.isoformat(),
        "sequence": event.sequence,
        "data": event.payload,
    }
    return json.dumps(envelope, sort_keys=True, separators=(",", ":")).encode()


class DeliverEvent:
    async def perform(self, runtime: Runtime, message: Claimed) -> Record:
        delivery_id = message.payload.get("delivery_id")
        if not isinstance(delivery_id, int):
            raise PermanentFailure(f"message {message.id} names no delivery_id")
        async with runtime.sessions() as session:
            found = await _load(session, delivery_id)
        if found is None:
            raise PermanentFailure(f"integration delivery {delivery_id} no longer exists")
        event, subscriber = found
        if not subscriber.active:
            await _note(runtime, delivery_id, "the subscriber is inactive")
            raise PermanentFailure(f"subscriber {subscriber.public_id} is inactive")
        try:
            secret = integration_subscribers.decrypt_secret(runtime.settings, subscriber)
        except ValueError as error:
            raise PermanentFailure(str(error)) from error
        sent = await runtime.providers.webhooks.send(
            subscriber.url, body_of(event), secret, event.public_id, event.kind
        )
        await _log_attempt(runtime, delivery_id, sent)
        if sent.delivered:
            return _delivered(delivery_id, runtime.clock.now())
        if sent.status == GONE:
            raise PermanentFailure(f"HTTP 410: subscriber {subscriber.public_id} deactivated")
        raise ProviderUnavailable(PROVIDER, sent.error or f"HTTP {sent.status}")

    async def record_failure(
        self, session: AsyncSession, message: Claimed, *, gave_up: bool
    ) -> None:
        """Given up: the delivery FAILED and its last attempt marked so in the log."""
        delivery_id = message.payload.get("delivery_id")
        if not gave_up or not isinstance(delivery_id, int):
            return
        delivery = await session.get(IntegrationDelivery, delivery_id, with_for_update=True)
        if delivery is None:
            return
        delivery.status = DeliveryStatus.FAILED
        last = await session.scalar(
            sa.select(IntegrationAttempt)
            .where(col(IntegrationAttempt.delivery_id) == delivery_id)
            .order_by(col(IntegrationAttempt.id).desc())
            .limit(1)
        )
        if last is not None:
            last.gave_up = True


async def _load(
    session: AsyncSession, delivery_id: int
) -> tuple[IntegrationEvent, IntegrationSubscriber] | None:
    delivery = await session.get(IntegrationDelivery, delivery_id)
    if delivery is None:
        return None
    event = await session.get(IntegrationEvent, delivery.event_id)
    subscriber = await session.get(IntegrationSubscriber, delivery.subscriber_id)
    if event is None or subscriber is None:
        return None
    return event, subscriber


async def _log_attempt(runtime: Runtime, delivery_id: int, sent: Sent) -> None:
    now = runtime.clock.now()
    async with unit_of_work(runtime.sessions) as session:
        delivery = await session.get(IntegrationDelivery, delivery_id, with_for_update=True)
        assert delivery is not None
        delivery.attempts += 1
        delivery.last_status_code, delivery.last_error = sent.status, sent.error
        delivery.last_attempt_at = now
        session.add(
            IntegrationAttempt(
                delivery_id=delivery_id,
                attempt=delivery.attempts,
                status_code=sent.status,
                error=sent.error,
                duration_ms=sent.duration_ms,
                attempted_at=now,
                delivered=sent.delivered,
            )
        )
        if sent.status == GONE:
            subscriber = await session.get(
                IntegrationSubscriber, delivery.subscriber_id, with_for_update=True
            )
            if subscriber is not None and subscriber.active:
                integration_subscribers.set_gone(subscriber, now)


async def _note(runtime: Runtime, delivery_id: int, error: str) -> None:
    """Why a delivery failed without a POST."""
    async with unit_of_work(runtime.sessions) as session:
        delivery = await session.get(IntegrationDelivery, delivery_id, with_for_update=True)
        if delivery is not None:
            delivery.last_error = error


def _delivered(delivery_id: int, now: datetime) -> Record:
    async def record(session: AsyncSession) -> None:
        delivery = await session.get(IntegrationDelivery, delivery_id, with_for_update=True)
        if delivery is not None:
            delivery.status, delivery.delivered_at = DeliveryStatus.DELIVERED, now

    return record
