"""A subscription's history as the API shows it: what happened, when, for how much, and who
did it, in words a customer may read (no internal ids, no staff-only detail)."""

from __future__ import annotations

from datetime import datetime
from typing import TypeAlias

import strawberry

from app.domain import history as h
from schema.common import Connection, Edge, Money, PageInfo

SubscriptionEventKind: TypeAlias = h.HistoryKind
strawberry.enum(SubscriptionEventKind, name="SubscriptionEventKind")
EventActorKind: TypeAlias = h.ActorKind
strawberry.enum(EventActorKind, name="EventActorKind")


@strawberry.type(
    description="Who did it: you, a colleague by name, staff, the partner, or the system."
)
class EventActor:
    kind: EventActorKind
    name: str


@strawberry.type(description="One thing that happened to a subscription.")
class SubscriptionEvent:
    kind: SubscriptionEventKind
    occurred_at: datetime
    action: str = strawberry.field(description="What happened, e.g. `order.placed`.")
    status: str | None = strawberry.field(
        description="Its state where it has one: an order's, a payment's, a push's."
    )
    amount: Money | None = strawberry.field(description="Where money moved (or is due).")
    actor: EventActor

    @classmethod
    def of(cls, event: h.HistoryEvent, viewer: str | None) -> SubscriptionEvent:
        actor = h.actor_of(event, viewer)
        money = (
            None
            if event.amount is None or event.currency is None
            else Money.of(event.amount, event.currency)
        )
        return cls(
            kind=event.kind,
            occurred_at=event.occurred_at,
            action=event.action,
            status=None if event.status is None else str(event.status),
            amount=money,
            actor=EventActor(kind=actor.kind, name=actor.name),
        )


def history_connection(
    events: list[h.HistoryEvent], has_next: bool, has_previous: bool, viewer: str | None
) -> Connection[SubscriptionEvent]:
    from resolvers.history import to_cursor

    nodes = [SubscriptionEvent.of(event, viewer) for event in events]
    cursors = [to_cursor(event.position) for event in events]
    return Connection(
        edges=[Edge(cursor=c, node=n) for c, n in zip(cursors, nodes, strict=True)],
        nodes=nodes,
        page_info=PageInfo(
            has_next_page=has_next,
            has_previous_page=has_previous,
            start_cursor=cursors[0] if cursors else None,
            end_cursor=cursors[-1] if cursors else None,
        ),
    )
