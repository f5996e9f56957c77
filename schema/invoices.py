"""Invoice types: invoices with their lines and payments."""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, Any

import sqlalchemy as sa
import strawberry

from app.db import tables
from app.db.pagination import Page
from app.domain.enums import CreditNoteStatus
from resolvers import subscriptions as resolve_subscriptions
from resolvers.ids import to_global_id
from schema import described
from schema.common import Connection, Money, Node
from schema.credit_notes import CreditNote
from schema.customers import BillingAccount, Customer
from schema.enums import InvoiceLineKind, InvoiceStatus, PaymentStatus, SyncStatus
from schema.loaded import Loads, Ready, prefetch
from schema.tax import LineTax

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
    tax: LineTax

    @classmethod
    def from_row(cls, row: tables.InvoiceLine | sa.Row[Any], currency: str) -> InvoiceLine:
        return cls(
            position=row.position,
            kind=row.kind,
            description=row.description,
            quantity=row.quantity,
            unit_amount=Money.of(row.unit_amount, currency),
            amount=Money.of(row.amount, currency),
            period_start=row.period_start,
            period_end=row.period_end,
            tax=LineTax.of(
                row.tax_treatment, row.tax_rate_ppm, row.tax_amount, row.tax_note, currency
            ),
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


_LINES: Loads[Invoice, int, list[sa.Row[Any]], list[InvoiceLine]] = Loads(
    lambda loaders: loaders.lines_by_invoice,
    key=lambda invoice, _ctx, _args: invoice._pk,
    convert=lambda invoice, _ctx, _args, rows: [
        InvoiceLine.from_row(row, invoice.currency) for row in rows
    ],
)
_PAYMENTS: Loads[Invoice, int, list[tables.Payment], list[Payment]] = Loads(
    lambda loaders: loaders.payments_by_invoice,
    key=lambda invoice, _ctx, _args: invoice._pk,
    convert=lambda _invoice, _ctx, _args, rows: [Payment.from_row(row) for row in rows],
)
_CUSTOMER: Loads[Invoice, int, tables.Customer | None, Customer | None] = Loads(
    lambda loaders: loaders.customer,
    key=lambda invoice, _ctx, _args: invoice._row.customer_id,
    convert=lambda _invoice, _ctx, _args, found: (
        None if found is None else Customer.from_row(found)
    ),
)
_BILLING_ACCOUNT: Loads[Invoice, int, tables.BillingAccount | None, BillingAccount | None] = Loads(
    lambda loaders: loaders.billing_account,
    key=lambda invoice, _ctx, _args: invoice._row.billing_account_id,
    convert=lambda _invoice, _ctx, _args, found: (
        None if found is None else BillingAccount.from_row(found)
    ),
)
_CREDIT_NOTES: Loads[Invoice, int, list[tables.CreditNote], list[CreditNote]] = Loads(
    lambda loaders: loaders.credit_notes_by_invoice,
    key=lambda invoice, _ctx, _args: invoice._pk,
    convert=lambda _invoice, _ctx, _args, rows: [CreditNote.from_row(row) for row in rows],
)
_CREDITED: Loads[Invoice, int, list[tables.CreditNote], Money] = Loads(
    lambda loaders: loaders.credit_notes_by_invoice,
    key=lambda invoice, _ctx, _args: invoice._pk,
    convert=lambda invoice, _ctx, _args, rows: Money.of(_issued(rows), invoice.currency),
)


@strawberry.type(
    description="What is owed; totals are the sum of the rounded lines, and `tax` the sum of "
    "the lines' rounded taxes (total = subtotal - discount + tax)."
)
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

    @described.field(description="Download with the same bearer token as the API.")
    def pdf_url(self, info: strawberry.Info) -> str:
        return f"{info.context.base_url}/invoices/{self.number}.pdf"

    @property
    def _pk(self) -> int:
        assert self._row.id is not None
        return self._row.id

    # Ready at once when a list prefetched the loader for all its items (schema.loaded).

    @_LINES.field(list[InvoiceLine])
    def lines(self, info: strawberry.Info) -> Ready[list[InvoiceLine]]:
        return _LINES.resolve(self, info)

    @_PAYMENTS.field(list[Payment])
    def payments(self, info: strawberry.Info) -> Ready[list[Payment]]:
        return _PAYMENTS.resolve(self, info)

    @_CUSTOMER.field(Customer | None)
    def customer(self, info: strawberry.Info) -> Ready[Customer | None]:
        return _CUSTOMER.resolve(self, info)

    @_CREDIT_NOTES.field(
        list[CreditNote],
        description="Money given back against it (refunds and credits), oldest first.",
    )
    def credit_notes(self, info: strawberry.Info) -> Ready[list[CreditNote]]:
        return _CREDIT_NOTES.resolve(self, info)

    @_CREDITED.field(
        Money, description="Given back so far by its issued credit notes (refunds and credits)."
    )
    def amount_credited(self, info: strawberry.Info) -> Ready[Money]:
        return _CREDITED.resolve(self, info)

    @_BILLING_ACCOUNT.field(
        BillingAccount | None, description="Null when the caller may not see the paying account."
    )
    def billing_account(self, info: strawberry.Info) -> Ready[BillingAccount | None]:
        if self._row.billing_account_id is None:
            return None
        return _BILLING_ACCOUNT.resolve(self, info)

    @strawberry.field
    async def subscription(self, info: strawberry.Info) -> SubscriptionRef | None:
        from schema.subscriptions import Subscription

        if self._row.subscription_id is None:
            return None
        view = await resolve_subscriptions.by_id(info.context, self._row.subscription_id)
        return None if view is None else Subscription.from_view(view)


def _issued(rows: list[tables.CreditNote]) -> int:
    return sum(row.amount for row in rows if row.status is CreditNoteStatus.ISSUED)


async def invoice_connection(
    info: strawberry.Info, pending: Awaitable[Page[tables.Invoice]]
) -> Connection[Invoice]:
    """A page of invoices as a connection, with what its items ask for loaded per page."""
    page = await pending
    connection = Connection.build(page, page.items, Invoice.from_row)
    await prefetch(info, connection)
    return connection
