"""What every staff tool does first: only admins, always with a reason; the subscription
locked against other writers."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.principals import Principal
from app.db.repositories import changes
from app.db.scope import EVERYTHING
from app.db.tables import Subscription
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
    return audit.attribution(principal, reason, request_id)  # refuses an admin's blank one


async def locked_subscription(session: AsyncSession, subscription_id: int) -> Subscription:
    found = await changes.subscription_for_update(session, EVERYTHING, subscription_id)
    if found is None:
        raise NO_SUBSCRIPTION
    return found
