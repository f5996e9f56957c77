"""Staff tools (docs/staff-tools.md): decode the ids, run the use case in one unit of work,
turn expected refusals into values. Admins only, except the offline license file, which the
customer's owners may download too."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, datetime
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from app.db.tables import License, Subscription
from app.db.unit_of_work import unit_of_work
from app.domain.errors import DomainError
from app.domain.staff import ExtensionKind
from app.services import license_keys
from app.services.orders.errors import NotAllowed
from app.services.staff import licenses as staff_licenses
from app.services.staff import subscriptions as staff_subscriptions
from app.services.staff import view_as
from app.services.staff.licenses import OfflineLicenseFile
from app.services.staff.view_as import StaffView
from resolvers.access import require_reader
from resolvers.audit import require_admin
from resolvers.context import RequestContext
from resolvers.errors import forbidden
from resolvers.ids import expect_global_id
from resolvers.subscriptions import SubscriptionView, view_of

__all__ = [
    "ExtensionKind",
    "OfflineLicenseFile",
    "StaffView",
    "change_term_end",
    "extend",
    "offline_license_file",
    "reissue_license",
    "resend_license",
    "retry_provisioning",
    "set_comp_seats",
    "start_view",
]

T = TypeVar("T")


async def _write(
    ctx: RequestContext, work: Callable[[AsyncSession], Awaitable[T]]
) -> T | DomainError:
    """One unit of work: committed on success, rolled back on any refusal."""
    try:
        async with unit_of_work(ctx.runtime.sessions) as session:
            return await work(session)
    except NotAllowed as exc:
        raise forbidden() from exc
    except DomainError as error:
        return error


def _pk(global_id: str, type_name: str) -> int:
    return expect_global_id(global_id, type_name) or 0  # 0 matches no row: NOT_FOUND


async def _view(
    ctx: RequestContext, found: Subscription | DomainError
) -> SubscriptionView | DomainError:
    if isinstance(found, DomainError):
        return found
    view = await view_of(ctx, found)
    assert view is not None
    return view


Change = Callable[[AsyncSession, int, datetime], Awaitable[T]]


async def _admin_change(
    ctx: RequestContext, subscription_id: str, change: Change[T]
) -> T | DomainError:
    """An admin's change of one subscription (by its global id), in one unit of work."""
    require_admin(ctx)
    pk, now = _pk(subscription_id, "Subscription"), ctx.runtime.clock.now()
    return await _write(ctx, lambda s: change(s, pk, now))


async def _changed(
    ctx: RequestContext, subscription_id: str, change: Change[Subscription]
) -> SubscriptionView | DomainError:
    return await _view(ctx, await _admin_change(ctx, subscription_id, change))


async def _changed_with(
    ctx: RequestContext, subscription_id: str, change: Change[tuple[Subscription, T]]
) -> tuple[SubscriptionView, T] | DomainError:
    found = await _admin_change(ctx, subscription_id, change)
    if isinstance(found, DomainError):
        return found
    view = await _view(ctx, found[0])
    assert not isinstance(view, DomainError)
    return view, found[1]


async def set_comp_seats(
    ctx: RequestContext, subscription_id: str, comp_seats: int, reason: str
) -> SubscriptionView | DomainError:
    return await _changed(
        ctx,
        subscription_id,
        lambda s, pk, now: staff_subscriptions.set_comp_seats(
            s, ctx.principal, pk, comp_seats, reason, now=now, request_id=ctx.request_id
        ),
    )


async def extend(
    ctx: RequestContext, subscription_id: str, kind: ExtensionKind, days: int, reason: str
) -> SubscriptionView | DomainError:
    return await _changed(
        ctx,
        subscription_id,
        lambda s, pk, now: staff_subscriptions.extend(
            s, ctx.principal, pk, kind, days, reason, now=now, request_id=ctx.request_id
        ),
    )


async def change_term_end(
    ctx: RequestContext, subscription_id: str, term_end: date, reason: str
) -> SubscriptionView | DomainError:
    return await _changed(
        ctx,
        subscription_id,
        lambda s, pk, now: staff_subscriptions.change_term_end(
            s, ctx.principal, pk, term_end, reason, now=now, request_id=ctx.request_id
        ),
    )


async def retry_provisioning(
    ctx: RequestContext, subscription_id: str, reason: str
) -> SubscriptionView | DomainError:
    return await _changed(
        ctx,
        subscription_id,
        lambda s, pk, now: staff_subscriptions.retry_provisioning(
            s, ctx.principal, pk, reason, now=now, request_id=ctx.request_id
        ),
    )


async def reissue_license(
    ctx: RequestContext, subscription_id: str, reason: str
) -> tuple[SubscriptionView, License] | DomainError:
    return await _changed_with(
        ctx,
        subscription_id,
        lambda s, pk, now: staff_licenses.reissue(
            s, ctx.principal, pk, reason, now=now, request_id=ctx.request_id
        ),
    )


async def resend_license(
    ctx: RequestContext, subscription_id: str, reason: str
) -> tuple[SubscriptionView, int] | DomainError:
    return await _changed_with(
        ctx,
        subscription_id,
        lambda s, pk, now: staff_licenses.resend(
            s, ctx.principal, pk, reason, now=now, request_id=ctx.request_id
        ),
    )


async def offline_license_file(
    ctx: RequestContext, subscription_id: str, reason: str | None
) -> OfflineLicenseFile | DomainError:
    require_reader(ctx)
    signer = license_keys.signer(ctx.runtime.settings)
    pk, now = _pk(subscription_id, "Subscription"), ctx.runtime.clock.now()
    return await _write(
        ctx,
        lambda s: staff_licenses.offline_file(
            s, signer, ctx.principal, pk, reason, now=now, request_id=ctx.request_id
        ),
    )


async def start_view(ctx: RequestContext, customer_id: str, reason: str) -> StaffView | DomainError:
    require_admin(ctx)
    pk, now = _pk(customer_id, "Customer"), ctx.runtime.clock.now()
    return await _write(
        ctx,
        lambda s: view_as.start(
            s, ctx.runtime.settings, ctx.principal, pk, reason, now=now, request_id=ctx.request_id
        ),
    )
