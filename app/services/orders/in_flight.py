"""Orders wait while a lifecycle job charges the subscription.

A renewal or reconciliation charge whose outcome is not recorded yet (the job timed out, or
its lease ran out) may have been collected at the provider: the job retries it with the
same keys and settles it. An order meanwhile (a manual renewal above all) could charge the
same term twice, so it is refused before anything is written or charged."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app.db.repositories import lifecycle
from app.db.tables import Subscription
from app.services.orders.errors import OrderInProgress

# A job replays an unsettled charge on its next round, within minutes.
CHARGING = OrderInProgress(
    "An automatic renewal is being charged; try again in a few minutes.",
    retry_after_seconds=120,
)


async def ensure_not_charging(session: AsyncSession, subscription: Subscription | None) -> None:
    if subscription is not None and await lifecycle.charge_in_flight(session, subscription):
        raise CHARGING
