"""Usage: seatUsageReport and computeUsageReport (the product's service credential only), and
the usage fields of a subscription (its daily seat figures, its compute minutes this month).

Each report runs in one write unit of work; expected refusals come back as values and leave
nothing written. The subscription fields read through per-request DataLoaders: seat usage
pages are scoped in SQL; the month's compute totals hang off a subscription already read in
the caller's scope, as its packs do. Another tenant's usage is never read."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.principals import PrincipalKind
from app.db.pagination import Page
from app.db.repositories import usage as repo
from app.db.repositories.usage import SeatUsagePoint, SeatUsageWindow
from app.db.tables import ComputeUsageEvent, ComputeUsageMonth, ConsumablePurchase, SeatUsage
from app.db.unit_of_work import unit_of_work
from app.domain.consumables import ComputeFigures, compute_figures, month_start
from app.domain.enums import LIVE_STATUSES, ConsumableKind
from app.domain.errors import DomainError
from app.domain.seats import SeatFigures
from app.services.orders.errors import NotAllowed
from app.services.usage import compute, seats
from resolvers.context import RequestContext
from resolvers.dataloader import DataLoader
from resolvers.errors import forbidden, invalid, unauthenticated
from resolvers.ids import page_request
from resolvers.subscriptions import SubscriptionView, consumables

__all__ = ["SeatUsagePoint"]

SeatUsageKey = tuple[int, SeatUsageWindow]


def require_product(ctx: RequestContext) -> None:
    """Usage reports come from the product's service credential only."""
    if not ctx.principal.is_authenticated:
        raise unauthenticated()
    if ctx.principal.kind is not PrincipalKind.SERVICE:
        raise forbidden()


T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class ReportedSeatsView:
    """Only the figures the product needs: the service principal reads no tenant data."""

    subscription_number: str
    figures: SeatFigures


@dataclass(frozen=True, slots=True)
class SeatReportView:
    day: SeatUsage
    recorded: bool
    seats: ReportedSeatsView | None


@dataclass(frozen=True, slots=True)
class ComputeReportView:
    event: ComputeUsageEvent
    duplicate: bool
    figures: ComputeFigures
    subscription_number: str | None


async def _reported(
    ctx: RequestContext, work: Callable[[AsyncSession, datetime], Awaitable[T]]
) -> T | DomainError:
    """The product's report in one unit of work; a refusal changes nothing."""
    require_product(ctx)
    try:
        async with unit_of_work(ctx.runtime.sessions) as session:
            return await work(session, ctx.runtime.clock.now())
    except NotAllowed as exc:
        raise forbidden() from exc
    except DomainError as error:
        return error


async def report_seats(
    ctx: RequestContext, deployment: str, billable_users: int, reported_at: datetime
) -> SeatReportView | DomainError:
    found = await _reported(
        ctx,
        lambda session, now: seats.report_seats(
            session,
            ctx.principal,
            deployment=deployment,
            billable_users=billable_users,
            reported_at=reported_at,
            now=now,
            request_id=ctx.request_id,
        ),
    )
    if isinstance(found, DomainError):
        return found
    reported = None
    if found.subscription is not None and found.figures is not None:
        reported = ReportedSeatsView(found.subscription.number, found.figures)
    return SeatReportView(found.day, found.recorded, reported)


async def report_compute(
    ctx: RequestContext, deployment: str, event_id: str, minutes: int
) -> ComputeReportView | DomainError:
    found = await _reported(
        ctx,
        lambda session, now: compute.report_compute(
            session,
            ctx.principal,
            deployment=deployment,
            event_id=event_id,
            minutes=minutes,
            now=now,
            request_id=ctx.request_id,
        ),
    )
    if isinstance(found, DomainError):
        return found
    number = found.subscription.number if found.subscription is not None else None
    return ComputeReportView(found.event, found.duplicate, found.figures, number)


# --- fields of Subscription --------------------------------------------------------------------


def _window(
    first: int | None, after: str | None, since: date | None, until: date | None
) -> SeatUsageWindow:
    request = page_request(first, after)
    after_day = None
    if request.after_id is not None:
        if not 1 <= request.after_id <= date.max.toordinal():
            raise invalid("`after` is not a cursor from this API.")
        after_day = date.fromordinal(request.after_id)
    if since is not None and until is not None and since > until:
        raise invalid("`from` must not be after `to`.")
    return SeatUsageWindow(first=request.first, after=after_day, since=since, until=until)


def cursor_of(point: SeatUsagePoint) -> int:
    """Seat usage pages by day: the cursor holds the day (as an ordinal)."""
    return point.reported_on.toordinal()


async def seat_usage(
    ctx: RequestContext,
    subscription_id: int,
    first: int | None,
    after: str | None,
    since: date | None,
    until: date | None,
) -> Page[SeatUsagePoint]:
    key = (subscription_id, _window(first, after, since, until))
    page: Page[SeatUsagePoint] = await ctx.loaders.seat_usage_pages.load(key)
    return page


async def compute_minutes(ctx: RequestContext, view: SubscriptionView) -> ComputeFigures | None:
    """This month's compute minutes of a live subscription's deployment (None otherwise)."""
    row = view.row
    if row.status not in LIVE_STATUSES or row.id is None:
        return None
    month: ComputeUsageMonth | None = await ctx.loaders.compute_month.load(row.deployment_id)
    packs: list[ConsumablePurchase] = await consumables(ctx, row.id)
    return compute_figures(
        view.plan.compute_quota_minutes or 0,
        compute.month_usage(month),
        compute.pack_balances([p for p in packs if p.kind is ConsumableKind.COMPUTE_MINUTES]),
        ctx.today,
    )


# --- DataLoaders (created per request by resolvers.loaders.Loaders) --------------------------


def seat_usage_loader(ctx: RequestContext) -> DataLoader[SeatUsageKey, Page[SeatUsagePoint]]:
    """Keys are (subscription id, window); subscriptions asking for the same window share
    one statement."""

    async def load(keys: list[SeatUsageKey]) -> list[Page[SeatUsagePoint]]:
        by_window: dict[SeatUsageWindow, list[int]] = defaultdict(list)
        for subscription_id, window in keys:
            by_window[window].append(subscription_id)
        found: dict[SeatUsageKey, Page[SeatUsagePoint]] = {}
        for window, ids in by_window.items():
            pages = await ctx.read(_window_read(ctx, ids, window))
            found.update({(pk, window): page for pk, page in pages.items()})
        return [found[key] for key in keys]

    return DataLoader(load)


def compute_month_loader(ctx: RequestContext) -> DataLoader[int, ComputeUsageMonth | None]:
    """Each deployment's totals for the request's current month (keyed by the deployments of
    subscriptions already read through the caller's scope, like their consumables)."""

    async def load(deployment_ids: list[int]) -> list[ComputeUsageMonth | None]:
        month = month_start(ctx.today)
        found = await ctx.read(lambda s: repo.months_by_deployment(s, deployment_ids, month))
        return [found.get(pk) for pk in deployment_ids]

    return DataLoader(load)


def _window_read(
    ctx: RequestContext, ids: list[int], window: SeatUsageWindow
) -> Callable[[AsyncSession], Awaitable[dict[int, Page[SeatUsagePoint]]]]:
    return lambda session: repo.seat_usage_pages(session, ctx.scope, ids, window)
