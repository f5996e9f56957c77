"""Invoice types: invoices with their lines and payments."""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry

from app.db import tables
from app.db.pagination import Page
from app.domain.enums import CreditNoteStatus
from resolvers import prefetch
from resolvers import subscriptions as resolve_subscriptions
from resolvers.ids import to_global_id
from resolvers.loaders import now_or_later
from schema import lookahead
from schema.common import Connection, Money, Node
from schema.credit_notes import CreditNote
from schema.customers import BillingAccount, Customer
from schema.enums import InvoiceLineKind, InvoiceStatus, PaymentStatus, SyncStatus

if TYPE_CHECKING:
    from schema.subscriptions import Subscription

SubscriptionRef = Annotated["Subscription", strawberry.lazy("schema.subscriptions")]


@strawberry.type
class InvoiceLine:
    position: int
    kind: InvoiceLineKind
    description: str
    quantity: int
    unit_amount: Money
    amount: Money
    period_start: date | None
    period_end: date | None

    @classmethod
    def from_row(cls, row: tables.InvoiceLine, currency: str) -> InvoiceLine:
        return cls(
            position=row.position,
            kind=row.kind,
            description=row.description,
            quantity=row.quantity,
            unit_amount=Money.of(row.unit_amount, currency),
            amount=Money.of(row.amount, currency),
            period_start=row.period_start,
            period_end=row.period_end,
        )


@strawberry.type
class Payment:
    amount: Money
    status: PaymentStatus
    failure_code: str | None
    created_at: datetime

    @classmethod
    def from_row(cls, row: tables.Payment) -> Payment:
        return cls(
            amount=Money.of(row.amount, row.currency),
            status=row.status,
            failure_code=row.failure_code,
            created_at=row.created_at,
        )


@strawberry.type(description="What is owed; totals are the sum of the rounded lines.")
class Invoice(Node):
    number: str
    status: InvoiceStatus
    currency: str
    subtotal: Money
    discount: Money
    tax: Money
    total: Money
    amount_paid: Money
    amount_due: Money
    issued_on: date
    due_on: date
    sync_status: SyncStatus
    _row: strawberry.Private[tables.Invoice]

    @classmethod
    def from_row(cls, row: tables.Invoice) -> Invoice:
        assert row.id is not None
        currency = row.currency
        return cls(
            id=strawberry.ID(to_global_id("Invoice", row.id)),
            number=row.number,
            status=row.status,
            currency=currency,
            subtotal=Money.of(row.subtotal, currency),
            discount=Money.of(row.discount, currency),
            tax=Money.of(row.tax, currency),
            total=Money.of(row.total, currency),
            amount_paid=Money.of(row.amount_paid, currency),
            amount_due=Money.of(row.total - row.amount_paid, currency),
            issued_on=row.issued_on,
            due_on=row.due_on,
            sync_status=row.sync_status,
            _row=row,
        )

    @strawberry.field(description="Download with the same bearer token as the API.")
    def pdf_url(self, info: strawberry.Info) -> str:
        return f"{info.context.base_url}/invoices/{self.number}.pdf"

    @property
    def _pk(self) -> int:
        assert self._row.id is not None
        return self._row.id

    # Ready at once when resolvers.prefetch filled the loader for the whole list.

    @strawberry.field
    def lines(self, info: strawberry.Info) -> list[InvoiceLine]:
        currency = self.currency
        return now_or_later(  # type: ignore[return-value]
            info.context.loaders.lines_by_invoice,
            self._pk,
            lambda rows: [InvoiceLine.from_row(row, currency) for row in rows],
        )

    @strawberry.field
    def payments(self, info: strawberry.Info) -> list[Payment]:
        return now_or_later(  # type: ignore[return-value]
            info.context.loaders.payments_by_invoice,
            self._pk,
            lambda rows: [Payment.from_row(row) for row in rows],
        )

    @strawberry.field(
        description="Money given back against it (refunds and credits), oldest first."
    )
    def credit_notes(self, info: strawberry.Info) -> list[CreditNote]:
        return now_or_later(  # type: ignore[return-value]
            info.context.loaders.credit_notes_by_invoice,
            self._pk,
            lambda rows: [CreditNote.from_row(row) for row in rows],
        )

    @strawberry.field(
        description="Given back so far by its issued credit notes (refunds and credits)."
    )
    def amount_credited(self, info: strawberry.Info) -> Money:
        currency = self.currency
        return now_or_later(  # type: ignore[return-value]
            info.context.loaders.credit_notes_by_invoice,
            self._pk,
            lambda rows: Money.of(_issued(rows), currency),
        )

    @strawberry.field
    def customer(self, info: strawberry.Info) -> Customer | None:
        return now_or_later(  # type: ignore[return-value]
            info.context.loaders.customer,
            self._row.customer_id,
            lambda found: None if found is None else Customer.from_row(found),
        )

    @strawberry.field(description="Null when the caller may not see the paying account.")
    def billing_account(self, info: strawberry.Info) -> BillingAccount | None:
        return now_or_later(  # type: ignore[return-value]
            info.context.loaders.billing_account,
            self._row.billing_account_id,
            lambda found: None if found is None else BillingAccount.from_row(found),
        )

    @strawberry.field
    async def subscription(self, info: strawberry.Info) -> SubscriptionRef | None:
        from schema.subscriptions import Subscription

        if self._row.subscription_id is None:
            return None
        view = await resolve_subscriptions.by_id(info.context, self._row.subscription_id)
        return None if view is None else Subscription.from_view(view)


def _issued(rows: list[tables.CreditNote]) -> int:
    return sum(row.amount for row in rows if row.status is CreditNoteStatus.ISSUED)


async def invoice_connection(info: strawberry.Info, pending: Awaitable[Page[Any]]) -> Any:
    """A page of invoices as a connection, with what its items ask for loaded per page."""
    page = await pending
    items = lookahead.list_items(lookahead.current(info))
    await prefetch.for_invoices(info.context, page.items, lookahead.invoice_needs(items))
    return Connection.build(page, page.items, Invoice.from_row)
