"""Filter inputs for the root lists, converted to repository filters."""

from __future__ import annotations

from datetime import date, timedelta

import strawberry

from app.db.repositories.invoices import InvoiceFilter as InvoiceQuery
from app.db.repositories.subscriptions import SubscriptionFilter as SubscriptionQuery
from resolvers.errors import invalid
from resolvers.ids import expect_global_id
from schema.enums import Channel, InvoiceStatus, SubscriptionStatus


def _pk(global_id: strawberry.ID | None, type_name: str) -> int | None:
    if global_id is None:
        return None
    pk = expect_global_id(global_id, type_name)
    if pk is None:
        raise invalid(f"`{global_id}` is not a {type_name} id.")
    return pk


@strawberry.input
class SubscriptionFilter:
    status: list[SubscriptionStatus] | None = None
    plan: list[str] | None = strawberry.field(default=None, description="Plan codes.")
    channel: list[Channel] | None = None
    customer_id: strawberry.ID | None = None
    term_ends_from: date | None = None
    term_ends_until: date | None = None
    renewal_within_days: int | None = strawberry.field(
        default=None, description="Term ends between today and this many days from today."
    )

    def to_query(self, today: date) -> SubscriptionQuery:
        ends_from, ends_until = self.term_ends_from, self.term_ends_until
        if self.renewal_within_days is not None:
            if not 0 <= self.renewal_within_days <= 366:
                raise invalid("`renewalWithinDays` must be between 0 and 366.")
            ends_from, ends_until = today, today + timedelta(days=self.renewal_within_days)
        return SubscriptionQuery(
            statuses=tuple(self.status or ()),
            plan_codes=tuple(self.plan or ()),
            channels=tuple(self.channel or ()),
            term_ends_from=ends_from,
            term_ends_until=ends_until,
            customer_id=_pk(self.customer_id, "Customer"),
        )


@strawberry.input
class InvoiceFilter:
    status: list[InvoiceStatus] | None = None
    customer_id: strawberry.ID | None = None
    subscription_id: strawberry.ID | None = None

    def to_query(self) -> InvoiceQuery:
        return InvoiceQuery(
            statuses=tuple(self.status or ()),
            customer_id=_pk(self.customer_id, "Customer"),
            subscription_id=_pk(self.subscription_id, "Subscription"),
        )
