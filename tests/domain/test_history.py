"""A subscription's history: actors named as a customer may read them, and the merge of
the sources' pages into one newest-first page."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app.domain.history import (
    Actor,
    ActorKind,
    HistoryEvent,
    HistoryKind,
    Position,
    Source,
    actor_of,
    newest_first,
)

T = datetime(2026, 3, 1, tzinfo=UTC)


def _event(actor: str | None, name: str | None = None, source: Source = Source.AUDIT,
           key: int = 1, at: datetime = T) -> HistoryEvent:  # fmt: skip
    return HistoryEvent(Position(at, source, key), HistoryKind.CHANGE, "x", actor=actor,
                        actor_name=name)  # fmt: skip


@pytest.mark.parametrize(
    ("actor", "name", "expected"),
    [
        ("customer_user:u-1", "Ada", Actor(ActorKind.YOU, "you")),
        ("customer_user:u-2", "Bo", Actor(ActorKind.USER, "Bo")),
        ("customer_user:gone", None, Actor(ActorKind.USER, "a team member")),
        ("admin:7", None, Actor(ActorKind.STAFF, "staff")),
        ("partner:3", None, Actor(ActorKind.PARTNER, "partner")),
        ("service:order-recovery", None, Actor(ActorKind.SYSTEM, "system")),
        (None, None, Actor(ActorKind.SYSTEM, "system")),
    ],
)
def test_actor_of(actor: str | None, name: str | None, expected: Actor) -> None:
    assert actor_of(_event(actor, name), "customer_user:u-1") == expected


def test_newest_first_breaks_ties_by_source_then_row() -> None:
    audit = [_event(None, key=9), _event(None, key=2)]
    orders = [_event(None, source=Source.ORDER, key=1)]
    newer = [_event(None, source=Source.PAYMENT, key=5, at=T.replace(day=2))]

    page, more = newest_first([audit, orders, newer], 3)

    assert [(e.position.source, e.position.key) for e in page] == [
        (Source.PAYMENT, 5),
        (Source.ORDER, 1),
        (Source.AUDIT, 9),
    ]
    assert more is True
    assert newest_first([audit], 2) == (audit, False)
