"""`Subscription.history`: a page of the subscription's events, behind an opaque cursor.

The subscription was already found in the caller's scope, so whoever may read it (members
of any role, the partner that sold it, staff) reads its history; what an event says is
customer-safe for all of them (app.domain.history)."""

from __future__ import annotations

from datetime import datetime

from app.db.tables import Subscription
from app.domain.history import HistoryEvent, Position, Source
from resolvers.context import RequestContext
from resolvers.errors import invalid
from resolvers.ids import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, decode_text, encode_text

_PREFIX = "history"


def to_cursor(position: Position) -> str:
    moment = position.occurred_at.isoformat()
    return encode_text(f"{_PREFIX}|{moment}|{position.source.value}|{position.key}")


def from_cursor(cursor: str) -> Position:
    parts = (decode_text(cursor) or "").split("|")
    try:
        prefix, moment, source, key = parts
        if prefix != _PREFIX or not key.isascii() or not key.isdigit() or len(key) > 18:
            raise ValueError(cursor)
        when = datetime.fromisoformat(moment)
        if when.tzinfo is None:
            raise ValueError(cursor)
        return Position(when, Source(int(source)), int(key))
    except ValueError:
        raise invalid("`after` is not a history cursor from this API.") from None


async def page(
    ctx: RequestContext, subscription: Subscription, first: int | None, after: str | None
) -> tuple[list[HistoryEvent], bool]:
    size = DEFAULT_PAGE_SIZE if first is None else first
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise invalid(f"`first` must be between 1 and {MAX_PAGE_SIZE}.")
    position = None if after is None else from_cursor(after)
    assert subscription.id is not None
    return await ctx.loaders.history_pages.load((subscription.id, size, position))


def viewer_actor(ctx: RequestContext) -> str | None:
    """How the caller appears in audit rows and orders (to name their own events "you")."""
    return ctx.principal.audit_actor if ctx.principal.is_authenticated else None
