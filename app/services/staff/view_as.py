"""A read-only view of a customer as its owner sees it: staff get a bearer token, good for an
hour, whose principal is the customer's owner with `read_only` set (app/auth/authenticate.py).
Every read answers as it would the owner; every mutation is refused with READ_ONLY_VIEW
(schema/read_only.py). Starting a view is audited with the admin's reason."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.principals import Principal
from app.auth.tokens import STAFF_VIEW_TTL, issue_staff_view_token
from app.config import Settings
from app.db.tables import Customer
from app.domain.errors import DomainError, ErrorCode
from app.services import audit
from app.services.staff.common import staff_attribution


@dataclass(frozen=True, slots=True)
class StaffView:
    token: str
    expires_at: datetime
    customer: Customer


async def start(
    session: AsyncSession,
    settings: Settings,
    principal: Principal,
    customer_id: int,
    reason: str | None,
    *,
    now: datetime,
    request_id: str | None = None,
) -> StaffView:
    """The token of a read-only view of the customer. Its lifetime is wall-clock time (every
    bearer is checked so); the audit row is at the business time `now`."""
    attributed = staff_attribution(principal, reason, request_id)
    customer = await session.get(Customer, customer_id)
    if customer is None or customer.id is None:
        raise DomainError(ErrorCode.NOT_FOUND, "No such customer.")
    issued = datetime.now(UTC)
    token = issue_staff_view_token(settings, int(principal.id), customer.id, issued)
    expires_at = issued.replace(microsecond=0) + STAFF_VIEW_TTL
    await audit.record(
        session,
        principal,
        "customer.staff_view_started",
        ("Customer", customer.id),
        after={"expires_at": expires_at.isoformat(), "read_only": True},
        attributed=attributed,
        now=now,
    )
    return StaffView(token, expires_at, customer)
