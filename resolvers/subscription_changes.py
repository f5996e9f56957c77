"""Trials, auto-renew, pending plan changes and add-on seat assignments: decode the ids,
run the use case in one unit of work, and turn expected failures into values. The caller's
reason (required of admins) and the request id go to the use case for its audit row."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from app.db.tables import Subscription
from app.db.unit_of_work import unit_of_work
from app.domain.errors import DomainError
from app.services import add_on_seats, subscription_changes
from app.services.add_on_seats import SeatAssignments
from app.services.orders.errors import NotAllowed
from app.services.orders.requests import DeploymentRef
from resolvers.access import require_member
from resolvers.context import RequestContext
from resolvers.errors import forbidden
from resolvers.ids import expect_global_id
from resolvers.subscriptions import SubscriptionView, view_of

__all__ = [
    "SeatAssignments",
    "assign_seats",
    "cancel_pending_change",
    "set_auto_renew",
    "start_trial",
    "unassign_seats",
]

T = TypeVar("T")


async def _write(
    ctx: RequestContext, work: Callable[[AsyncSession], Awaitable[T]]
) -> T | DomainError:
    """One unit of work: committed on success, rolled back on any refusal."""
    require_member(ctx)
    try:
        async with unit_of_work(ctx.runtime.sessions) as session:
            return await work(session)
    except NotAllowed as exc:
        raise forbidden() from exc
    except DomainError as error:
        return error


def _pk(global_id: str, type_name: str) -> int:
    """0 (which matches no row, so NOT_FOUND) for an id that is not one of ours."""
    return expect_global_id(global_id, type_name) or 0


async def _view(
    ctx: RequestContext, found: Subscription | DomainError
) -> SubscriptionView | DomainError:
    if isinstance(found, DomainError):
        return found
    view = await view_of(ctx, found)
    assert view is not None
    return view


async def start_trial(
    ctx: RequestContext, customer_id: str, deployment: DeploymentRef, reason: str | None = None
) -> SubscriptionView | DomainError:
    pk, now = _pk(customer_id, "Customer"), ctx.runtime.clock.now()
    found = await _write(
        ctx,
        lambda s: subscription_changes.start_trial(
            s, ctx.principal, pk, deployment, now=now, reason=reason, request_id=ctx.request_id
        ),
    )
    return await _view(ctx, found)


async def set_auto_renew(
    ctx: RequestContext, subscription_id: str, auto_renew: bool, reason: str | None
) -> SubscriptionView | DomainError:
    pk, now = _pk(subscription_id, "Subscription"), ctx.runtime.clock.now()
    found = await _write(
        ctx,
        lambda s: subscription_changes.set_auto_renew(
            s, ctx.principal, pk, auto_renew, reason, now=now, request_id=ctx.request_id
        ),
    )
    return await _view(ctx, found)


async def cancel_pending_change(
    ctx: RequestContext, subscription_id: str, reason: str | None = None
) -> SubscriptionView | DomainError:
    pk, now = _pk(subscription_id, "Subscription"), ctx.runtime.clock.now()
    found = await _write(
        ctx,
        lambda s: subscription_changes.cancel_pending_change(
            s, ctx.principal, pk, now=now, reason=reason, request_id=ctx.request_id
        ),
    )
    return await _view(ctx, found)


async def assign_seats(
    ctx: RequestContext,
    add_on_purchase_id: str,
    user_ids: Sequence[str],
    reason: str | None = None,
) -> SeatAssignments | DomainError:
    pk, now = _pk(add_on_purchase_id, "AddOnPurchase"), ctx.runtime.clock.now()
    return await _write(
        ctx,
        lambda s: add_on_seats.assign_seats(
            s, ctx.principal, pk, user_ids, now=now, reason=reason, request_id=ctx.request_id
        ),
    )


async def unassign_seats(
    ctx: RequestContext,
    add_on_purchase_id: str,
    user_ids: Sequence[str],
    reason: str | None = None,
) -> SeatAssignments | DomainError:
    pk, now = _pk(add_on_purchase_id, "AddOnPurchase"), ctx.runtime.clock.now()
    return await _write(
        ctx,
        lambda s: add_on_seats.unassign_seats(
            s, ctx.principal, pk, user_ids, now=now, reason=reason, request_id=ctx.request_id
        ),
    )
