"""Integration events' SQL for the admin API: subscribers, and one subscriber's deliveries
with their events and attempts (three statements per page, whatever its length)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.db.pagination import Page, PageRequest, fetch_page
from app.db.repositories.common import by_ids
from app.db.tables import (
    IntegrationAttempt,
    IntegrationDelivery,
    IntegrationEvent,
    IntegrationSubscriber,
    Subscription,
)


@dataclass(frozen=True, slots=True)
class DeliveryView:
    delivery: IntegrationDelivery
    event: IntegrationEvent
    subscription_number: str
    attempts: Sequence[IntegrationAttempt]

    @property
    def id(self) -> int | None:  # the page's cursor
        return self.delivery.id


async def list_subscribers(session: AsyncSession, page: PageRequest) -> Page[IntegrationSubscriber]:
    return await fetch_page(
        session, sa.select(IntegrationSubscriber), IntegrationSubscriber.id, page
    )


async def subscriber_by_public_id(
    session: AsyncSession, public_id: str
) -> IntegrationSubscriber | None:
    stmt = sa.select(IntegrationSubscriber).where(col(IntegrationSubscriber.public_id) == public_id)
    found: IntegrationSubscriber | None = await session.scalar(stmt)
    return found


async def list_deliveries(
    session: AsyncSession, subscriber_id: int, page: PageRequest
) -> Page[DeliveryView]:
    """Newest first; each with its event, subscription number and attempts (oldest first)."""
    stmt = sa.select(IntegrationDelivery).where(
        col(IntegrationDelivery.subscriber_id) == subscriber_id
    )
    found = await fetch_page(session, stmt, IntegrationDelivery.id, page)
    deliveries: Sequence[IntegrationDelivery] = found.items
    events = await by_ids(session, IntegrationEvent, [d.event_id for d in deliveries])
    found_numbers = await session.execute(
        sa.select(col(Subscription.id), col(Subscription.number)).where(
            col(Subscription.id).in_({e.subscription_id for e in events.values()})
        )
    )
    numbers = {sid: number for sid, number in found_numbers}
    attempts: dict[int, list[IntegrationAttempt]] = defaultdict(list)
    if deliveries:
        rows = await session.scalars(
            sa.select(IntegrationAttempt)
            .where(col(IntegrationAttempt.delivery_id).in_([d.id for d in deliveries]))
            .order_by(col(IntegrationAttempt.id))
        )
        for row in rows:
            attempts[row.delivery_id].append(row)
    views = [
        DeliveryView(
            delivery=d,
            event=events[d.event_id],
            subscription_number=numbers[events[d.event_id].subscription_id],
            attempts=attempts.get(d.id or 0, []),
        )
        for d in deliveries
    ]
    return Page(views, found.has_next, found.has_previous)
