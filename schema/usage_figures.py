"""Usage on a subscription: its daily seat figures (`seatUsage`, for charts) and its compute
minutes this month (`computeMinutes`). The resolvers are attached to `Subscription` in
schema/subscriptions.py; this module does not import it, so both can import each other's
types without a cycle."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import strawberry

from app.domain.consumables import ComputeFigures
from resolvers import usage as resolve
from resolvers.ids import DEFAULT_PAGE_SIZE, to_cursor
from schema.common import Connection, Edge, PageInfo


@strawberry.type(description="The billable users the product reported for one day.")
class SeatUsageDay:
    reported_on: date
    billable_users: int = strawberry.field(description="The day's latest report.")
    max_billable_users: int = strawberry.field(
        description="The day's highest report (what the quarterly reconciliation bills)."
    )


@strawberry.type(
    description="Compute minutes this month (UTC): the plan's monthly quota, then purchased "
    "packs, soonest expiry first. The quota resets on `periodEnd`; purchased minutes roll "
    "over until their pack expires."
)
class ComputeMinutes:
    period_start: date = strawberry.field(description="The 1st of this month.")
    period_end: date = strawberry.field(description="The 1st of next month: the quota resets.")
    monthly_quota: int
    quota_used: int
    quota_remaining: int
    purchased_used: int = strawberry.field(description="Purchased minutes used this month.")
    purchased_remaining: int = strawberry.field(
        description="Minutes left in purchased packs that have not expired."
    )
    available: int = strawberry.field(description="`quotaRemaining + purchasedRemaining`.")
    uncovered: int = strawberry.field(
        description="Minutes used this month beyond the quota and every pack."
    )

    @classmethod
    def of(cls, figures: ComputeFigures) -> ComputeMinutes:
        return cls(
            period_start=figures.period_start,
            period_end=figures.period_end,
            monthly_quota=figures.monthly_quota,
            quota_used=figures.quota_used,
            quota_remaining=figures.quota_remaining,
            purchased_used=figures.purchased_used,
            purchased_remaining=figures.purchased_remaining,
            available=figures.available,
            uncovered=figures.uncovered,
        )


async def seat_usage(
    root: Any,
    info: strawberry.Info,
    first: int = DEFAULT_PAGE_SIZE,
    after: str | None = None,
    from_: Annotated[
        date | None,
        strawberry.argument(name="from", description="First day; default: the term start."),
    ] = None,
    to: Annotated[date | None, strawberry.argument(description="Last day, included.")] = None,
) -> Connection[SeatUsageDay]:
    page = await resolve.seat_usage(info.context, root._pk, first, after, from_, to)
    nodes = [
        SeatUsageDay(
            reported_on=p.reported_on,
            billable_users=p.billable_users,
            max_billable_users=p.max_billable_users,
        )
        for p in page.items
    ]
    cursors = [to_cursor(resolve.cursor_of(point)) for point in page.items]
    return Connection(
        edges=[Edge(cursor=c, node=n) for c, n in zip(cursors, nodes, strict=True)],
        nodes=nodes,
        page_info=PageInfo(
            has_next_page=page.has_next,
            has_previous_page=page.has_previous,
            start_cursor=cursors[0] if cursors else None,
            end_cursor=cursors[-1] if cursors else None,
        ),
    )


async def compute_minutes(root: Any, info: strawberry.Info) -> ComputeMinutes | None:
    figures = await resolve.compute_minutes(info.context, root._view)
    return None if figures is None else ComputeMinutes.of(figures)
