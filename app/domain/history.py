"""A subscription's history as its customer reads it: events from several sources (audit
rows, orders, renewals, reconciliations, payments, provisioning pushes), merged newest first
under one stable order, with actors named without anything staff-only."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum, StrEnum


class HistoryKind(StrEnum):
    ORDER = "ORDER"
    RENEWAL = "RENEWAL"
    RECONCILIATION = "RECONCILIATION"
    CHANGE = "CHANGE"
    PAYMENT = "PAYMENT"
    PROVISIONING = "PROVISIONING"
    CREDIT_NOTE = "CREDIT_NOTE"  # money given back against one of its invoices


class Source(IntEnum):
    """Where an event comes from; also the tie-break between sources at the same instant."""

    AUDIT = 0
    ORDER = 1
    RENEWAL = 2
    RECONCILIATION = 3
    PAYMENT = 4
    PROVISIONING = 5
    CREDIT_NOTE = 6


class ActorKind(StrEnum):
    YOU = "YOU"
    USER = "USER"
    STAFF = "STAFF"
    PARTNER = "PARTNER"
    SYSTEM = "SYSTEM"


@dataclass(frozen=True, slots=True, order=True)
class Position:
    """An event's place in the history: newest first is descending on this."""

    occurred_at: datetime
    source: Source
    key: int  # the row's id within its source: only ever inside an opaque cursor


@dataclass(frozen=True, slots=True)
class HistoryEvent:
    position: Position
    kind: HistoryKind
    action: str
    status: str | None = None
    amount: int | None = None
    currency: str | None = None
    actor: str | None = None  # "kind:id" as audit rows and orders record it; None: the system
    actor_name: str | None = None  # the portal user's name, when the actor is one

    @property
    def occurred_at(self) -> datetime:
        return self.position.occurred_at


@dataclass(frozen=True, slots=True)
class Actor:
    kind: ActorKind
    name: str


def actor_of(event: HistoryEvent, viewer: str | None) -> Actor:
    """Who did it, as a customer may read it: "you", a colleague's name, "staff", the
    partner, or "system"; never a token id, a staff member's name or an internal service."""
    return actor_from(event.actor, event.actor_name, viewer)


def actor_from(actor: str | None, name: str | None, viewer: str | None) -> Actor:
    """`actor_of` for any row that records an audit actor ("kind:id") and maybe a name."""
    if actor is not None and actor == viewer:
        return Actor(ActorKind.YOU, "you")
    kind = actor.partition(":")[0] if actor else ""
    if kind == "customer_user":
        return Actor(ActorKind.USER, name or "a team member")
    if kind == "admin":
        return Actor(ActorKind.STAFF, "staff")
    if kind == "partner":
        return Actor(ActorKind.PARTNER, "partner")
    return Actor(ActorKind.SYSTEM, "system")


def newest_first(
    sources: Iterable[Iterable[HistoryEvent]], first: int
) -> tuple[list[HistoryEvent], bool]:
    """One page from each source's own newest-first page (`first + 1` each): the merged
    page, and whether more follow."""
    merged = sorted(
        (event for source in sources for event in source),
        key=lambda event: event.position,
        reverse=True,
    )
    return merged[:first], len(merged) > first
