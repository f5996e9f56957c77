"""Subscription.dunning: where collection of the subscription's money stands."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Annotated

import strawberry

from app.domain.dunning import Dunning as DomainDunning
from resolvers import invoices as resolve_invoices
from schema.common import Money
from schema.enums import DunningStatus

if TYPE_CHECKING:
    from schema.invoices import Invoice

InvoiceRef = Annotated["Invoice", strawberry.lazy("schema.invoices")]


@strawberry.type(
    description="An invoice of the subscription that is late: its charge declined "
    "(PAYMENT_FAILED) or its due date passed (PAST_DUE)."
)
class Dunning:
    status: DunningStatus
    amount_due: Money
    due_on: date
    attempts: int = strawberry.field(description="Charges tried on the invoice so far.")
    last_failure_code: str | None
    next_retry_on: date | None = strawberry.field(
        description="The day of the next automatic retry (a declined renewal in grace); null "
        "when none is left, or the invoice is not retried automatically (pay it with "
        "invoicePay)."
    )
    grace_ends_on: date | None = strawberry.field(
        description="A declined renewal's last day of grace: unpaid, the subscription expires "
        "the day after."
    )
    _invoice_id: strawberry.Private[int]

    @classmethod
    def maybe(cls, found: DomainDunning | None) -> Dunning | None:
        return None if found is None else cls.of(found)

    @classmethod
    def of(cls, found: DomainDunning) -> Dunning:
        return cls(
            status=found.status,
            amount_due=Money.of(found.amount_due, found.currency),
            due_on=found.due_on,
            attempts=found.attempts,
            last_failure_code=found.last_failure_code,
            next_retry_on=found.next_retry_on,
            grace_ends_on=found.grace_ends_on,
            _invoice_id=found.invoice_id,
        )

    @strawberry.field
    async def invoice(self, info: strawberry.Info) -> InvoiceRef | None:
        from schema.invoices import Invoice

        row = await resolve_invoices.by_id(info.context, self._invoice_id)
        return None if row is None else Invoice.from_row(row)
