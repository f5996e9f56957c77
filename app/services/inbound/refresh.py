"""The shape of a refresh: read the provider's current state (no transaction open), then
apply it to the local copy in the transaction that marks the event processed."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession

from app.runtime import Runtime


class Outcome(StrEnum):
    """What processing an event did (kept on the event row, and logged)."""

    REFRESHED = "refreshed"  # the local copy now says what the provider says
    UNKNOWN_OBJECT = "unknown_object"  # the provider or the local DB has no such object
    IGNORED = "ignored"  # an event type nothing is done for
    # The local copy is being changed right now (an order in flight, a billing sync queued),
    # and that change writes the provider's answer itself.
    LEFT_TO_LOCAL_CHANGE = "left_to_local_change"


Apply = Callable[[AsyncSession, datetime], Awaitable[Outcome]]
Refresh = Callable[[Runtime, str], Awaitable[Apply]]


def nothing_to_apply(outcome: Outcome) -> Apply:
    """For an event with nothing to refresh: just its outcome."""

    async def apply(session: AsyncSession, now: datetime) -> Outcome:
        return outcome

    return apply
