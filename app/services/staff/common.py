"""What every staff tool does first: only admins, always with a reason; the subscription
locked against other writers."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.principals import Principal
from app.db.repositories import changes
from app.db.scope import EVERYTHING
from app.db.tables import Product, Subscription
from app.domain.errors import DomainError, ErrorCode
from app.services import audit
from app.services.orders.errors import NotAllowed

NO_SUBSCRIPTION = DomainError(ErrorCode.NOT_FOUND, "No such subscription.")


def staff_attribution(
    principal: Principal, reason: str | None, request_id: str | None
) -> audit.Attribution:
    """Admins only (NotAllowed, a top-level FORBIDDEN, for anyone else); a reason always."""
    if not principal.is_admin:
        raise NotAllowed
    attributed = audit.attribution(principal, reason, request_id)
    if attributed.reason is None:  # attribution refuses a blank one of an admin already
        raise DomainError(ErrorCode.VALIDATION, "A `reason` is required; none was given.")
    return attributed


async def locked_subscription(session: AsyncSession, subscription_id: int) -> Subscription:
    found = await changes.subscription_for_update(session, EVERYTHING, subscription_id)
    if found is None:
        raise NO_SUBSCRIPTION
    return found


async def plan_of(session: AsyncSession, subscription: Subscription) -> Product:
    plans = await changes.products_by_ids(session, [subscription.plan_id])
    return plans[subscription.plan_id]


def touch(subscription: Subscription, now: datetime) -> None:
    subscription.lock_version += 1
    subscription.updated_at = now
