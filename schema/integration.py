"""Integration events out (admins only; docs/api-guide.md "Integration events"): subscribers that
receive signed events, the delivery log, and redelivery. Subscribers and events are named
by their public ids (`isub_...`, `evt_...`): the event id is the one a receiver sees in
`Fulfillment-Event-Id`."""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeAlias

import strawberry
from strawberry.scalars import JSON

from app.db import tables
from app.domain.enums import DeliveryStatus
from app.domain.errors import DomainError
from resolvers import integration as resolve
from resolvers.ids import DEFAULT_PAGE_SIZE, to_global_id
from schema import described
from schema.audit import Reason
from schema.common import Connection
from schema.errors import NotFoundError, UserError, ValidationError, result_union, user_error

IntegrationDeliveryStatus: TypeAlias = DeliveryStatus
strawberry.enum(IntegrationDeliveryStatus, name="IntegrationDeliveryStatus")
_KINDS = "order.completed, renewal.completed, renewal.failed, reconciliation.invoiced, " + (
    "subscription.expired, payment.succeeded, payment.failed"
)


@strawberry.type(description="A receiver of signed integration events.")
class IntegrationSubscriber:
    id: strawberry.ID = strawberry.field(description="Its public id (`isub_...`).")
    name: str
    url: str
    events: list[str] = strawberry.field(description="The kinds it takes; empty: every kind.")
    active: bool
    created_at: datetime
    deactivated_at: datetime | None
    deactivated_reason: str | None = strawberry.field(
        description="`admin`, or `gone` (it answered 410 Gone)."
    )

    @classmethod
    def from_row(cls, row: tables.IntegrationSubscriber) -> IntegrationSubscriber:
        return cls(
            id=strawberry.ID(row.public_id),
            name=row.name,
            url=row.url,
            events=list(row.events),
            active=row.active,
            created_at=row.created_at,
            deactivated_at=row.deactivated_at,
            deactivated_reason=row.deactivated_reason,
        )


@strawberry.type(description="What happened to a subscription, as it is POSTed.")
class IntegrationEvent:
    id: strawberry.ID = strawberry.field(description="`evt_...`, the `Fulfillment-Event-Id`.")
    kind: str
    subscription_number: str
    sequence: int = strawberry.field(description="1, 2, ... per subscription, without gaps.")
    occurred_at: datetime
    payload: JSON = strawberry.field(description="The `data` of the POSTed body.")

    @classmethod
    def from_row(cls, row: tables.IntegrationEvent, number: str) -> IntegrationEvent:
        payload: Any = row.payload
        return cls(
            id=strawberry.ID(row.public_id),
            kind=row.kind,
            subscription_number=number,
            sequence=row.sequence,
            occurred_at=row.occurred_at,
            payload=payload,
        )


@strawberry.type(description="One POST of a delivery.")
class IntegrationDeliveryAttempt:
    attempt: int
    status_code: int | None = strawberry.field(description="Null: no answer (timeout, refused).")
    error: str | None
    duration_ms: int
    attempted_at: datetime
    delivered: bool
    gave_up: bool = strawberry.field(description="The last attempt: the delivery FAILED.")


@strawberry.type(description="One event for one subscriber, with every attempt made.")
class IntegrationDelivery:
    id: strawberry.ID
    event: IntegrationEvent
    status: IntegrationDeliveryStatus
    attempt_count: int
    last_status_code: int | None
    last_error: str | None
    last_attempt_at: datetime | None
    delivered_at: datetime | None
    attempts: list[IntegrationDeliveryAttempt]

    @classmethod
    def from_view(cls, view: resolve.DeliveryView) -> IntegrationDelivery:
        row = view.delivery
        assert row.id is not None
        return cls(
            id=strawberry.ID(to_global_id("IntegrationDelivery", row.id)),
            event=IntegrationEvent.from_row(view.event, view.subscription_number),
            status=row.status,
            attempt_count=row.attempts,
            last_status_code=row.last_status_code,
            last_error=row.last_error,
            last_attempt_at=row.last_attempt_at,
            delivered_at=row.delivered_at,
            attempts=[
                IntegrationDeliveryAttempt(
                    attempt=each.attempt,
                    status_code=each.status_code,
                    error=each.error,
                    duration_ms=each.duration_ms,
                    attempted_at=each.attempted_at,
                    delivered=each.delivered,
                    gave_up=each.gave_up,
                )
                for each in view.attempts
            ],
        )


@strawberry.input
class IntegrationSubscriberCreateInput:
    name: str = strawberry.field(description="1-200 characters.")
    url: str = strawberry.field(
        description="Where events are POSTed: http(s) with a host, no credentials or "
        "fragment; https:// in production."
    )
    events: list[str] = strawberry.field(
        default_factory=list, description=f"Kinds to receive, of {_KINDS}; empty: every kind."
    )


@strawberry.input
class IntegrationSubscriberUpdateInput:
    name: str | None = None
    url: str | None = None
    events: list[str] | None = strawberry.field(
        default=None, description="Replaces the kinds taken; empty: every kind."
    )
    active: bool | None = strawberry.field(
        default=None, description="True reactivates a deactivated subscriber."
    )


@strawberry.type
class IntegrationSubscriberCreatePayload:
    subscriber: IntegrationSubscriber
    secret: str = strawberry.field(
        description="The signing secret: shown here once, never again; store it now."
    )


@strawberry.type
class IntegrationSubscriberPayload:
    subscriber: IntegrationSubscriber


@strawberry.type
class IntegrationEventRedeliverPayload:
    event: IntegrationEvent
    queued: int = strawberry.field(
        description="Subscribers it is on its way to: queued again, or still queued (a "
        "delivery still pending is not queued twice)."
    )


IntegrationSubscriberCreateResult = result_union(
    "IntegrationSubscriberCreateResult", IntegrationSubscriberCreatePayload, ValidationError
)
IntegrationSubscriberResult = result_union(
    "IntegrationSubscriberResult", IntegrationSubscriberPayload, ValidationError, NotFoundError
)
IntegrationEventRedeliverResult = result_union(
    "IntegrationEventRedeliverResult",
    IntegrationEventRedeliverPayload,
    ValidationError,
    NotFoundError,
)


def _subscriber_result(
    found: tables.IntegrationSubscriber | DomainError,
) -> IntegrationSubscriberPayload | UserError:
    if isinstance(found, DomainError):
        return user_error(found)
    return IntegrationSubscriberPayload(subscriber=IntegrationSubscriber.from_row(found))


@strawberry.type
class IntegrationQueries:
    @described.field(description="Admins only: integration subscribers, oldest first.")
    async def integration_subscribers(
        self, info: strawberry.Info, first: int = DEFAULT_PAGE_SIZE, after: str | None = None
    ) -> Connection[IntegrationSubscriber]:
        page = await resolve.subscribers(info.context, first, after)
        return Connection.build(page, page.items, IntegrationSubscriber.from_row)

    @described.field(
        description="Admins only: a subscriber's deliveries, newest first, with their "
        "attempts; null for an unknown subscriber."
    )
    async def integration_deliveries(
        self,
        info: strawberry.Info,
        subscriber_id: strawberry.ID,
        first: int = DEFAULT_PAGE_SIZE,
        after: str | None = None,
    ) -> Connection[IntegrationDelivery] | None:
        page = await resolve.deliveries(info.context, subscriber_id, first, after)
        if page is None:
            return None
        return Connection.build(page, page.items, IntegrationDelivery.from_view)


@strawberry.type
class IntegrationMutations:
    @described.mutation(
        description="Admins: a new subscriber; the answer carries its signing secret, once."
    )
    async def integration_subscriber_create(
        self, info: strawberry.Info, input: IntegrationSubscriberCreateInput, reason: Reason = None
    ) -> IntegrationSubscriberCreateResult:  # type: ignore[valid-type]
        given = resolve.SubscriberInput(name=input.name, url=input.url, events=input.events)
        found = await resolve.create(info.context, given, reason)
        if isinstance(found, DomainError):
            return user_error(found)
        return IntegrationSubscriberCreatePayload(
            subscriber=IntegrationSubscriber.from_row(found.subscriber), secret=found.secret
        )

    @described.mutation(description="Admins: change a subscriber (what is given).")
    async def integration_subscriber_update(
        self,
        info: strawberry.Info,
        id: strawberry.ID,
        input: IntegrationSubscriberUpdateInput,
        reason: Reason = None,
    ) -> IntegrationSubscriberResult:  # type: ignore[valid-type]
        given = resolve.SubscriberInput(
            name=input.name, url=input.url, events=input.events, active=input.active
        )
        return _subscriber_result(await resolve.update(info.context, id, given, reason))

    @described.mutation(
        description="Admins: send nothing more to a subscriber; its queued deliveries fail."
    )
    async def integration_subscriber_deactivate(
        self, info: strawberry.Info, id: strawberry.ID, reason: Reason = None
    ) -> IntegrationSubscriberResult:  # type: ignore[valid-type]
        return _subscriber_result(await resolve.deactivate(info.context, id, reason))

    @described.mutation(
        description="Admins: queue an event again (same id and body) to every active "
        "subscriber taking its kind, behind the subscription's deliveries still queued."
    )
    async def integration_event_redeliver(
        self, info: strawberry.Info, event_id: strawberry.ID, reason: Reason = None
    ) -> IntegrationEventRedeliverResult:  # type: ignore[valid-type]
        found = await resolve.redeliver(info.context, event_id, reason)
        if isinstance(found, DomainError):
            return user_error(found)
        number = found.number
        return IntegrationEventRedeliverPayload(
            event=IntegrationEvent.from_row(found.event, number), queued=found.queued
        )
