"""Money back (staff): creditNoteCreate refunds or credits a paid invoice, in full or in
part; invoiceVoid voids an open one (docs/money-back.md). Each takes the staff's reason for
the audit log."""

from __future__ import annotations

import strawberry

from app.domain.credit_notes import CreditLine
from app.domain.errors import DomainError
from resolvers import money_back as resolve
from schema import described
from schema.credit_notes import CreditNote
from schema.drift import RequiredReason
from schema.enums import CreditNoteKind, CreditNoteReason
from schema.errors import (
    CreditExceedsError,
    NotFoundError,
    ProviderError,
    QuoteError,
    RuleViolation,
    ValidationError,
    result_union,
    user_error,
)
from schema.invoices import Invoice
from schema.minor_units import MinorUnits


@strawberry.input
class CreditNoteLineInput:
    description: str = strawberry.field(description="1-500 characters, printed on the note.")
    amount: MinorUnits = strawberry.field(description="Above zero, in the invoice's currency.")


@strawberry.input(description="Give either `amount` (one line) or `lines`, not both.")
class CreditNoteCreateInput:
    invoice_id: strawberry.ID
    kind: CreditNoteKind = strawberry.field(
        description="REFUND: back to the payment method that paid, at the billing provider. "
        "CREDIT: recorded only (given back outside the provider)."
    )
    reason: CreditNoteReason = strawberry.field(description="Shown to the customer.")
    currency: str = strawberry.field(description="Must be the invoice's currency.")
    idempotency_key: str = strawberry.field(
        description="1-128 printable ASCII characters, per invoice: a retry with it answers as "
        "the first call did and never gives back twice; another request with it is refused."
    )
    amount: MinorUnits | None = None
    lines: list[CreditNoteLineInput] | None = None


@strawberry.type
class CreditNoteCreatePayload:
    credit_note: CreditNote
    invoice: Invoice


@strawberry.type
class InvoiceVoidPayload:
    invoice: Invoice


# VALIDATION (amounts, currency, reason), NOT_FOUND, the invoice's state (INVOICE_NOT_PAID,
# INVOICE_PAID, INVOICE_NOT_OPEN), a key reused or a payment/order in progress, the provider.
_MONEY_BACK_ERRORS = (ValidationError, NotFoundError, RuleViolation, QuoteError, ProviderError)
CreditNoteCreateResult = result_union(
    "CreditNoteCreateResult", CreditNoteCreatePayload, *_MONEY_BACK_ERRORS, CreditExceedsError
)
InvoiceVoidResult = result_union("InvoiceVoidResult", InvoiceVoidPayload, *_MONEY_BACK_ERRORS)


@strawberry.type
class MoneyBackMutations:
    @described.mutation(
        description="Staff only: give money back against a paid invoice with a credit note, "
        "in full or in part, never beyond what was paid (a refund) or its total (a credit); "
        "once per idempotency key (audited)."
    )
    async def credit_note_create(
        self, info: strawberry.Info, input: CreditNoteCreateInput, reason: RequiredReason
    ) -> CreditNoteCreateResult:  # type: ignore[valid-type]
        lines = [CreditLine(line.description, int(line.amount)) for line in input.lines or []]
        found = await resolve.create(
            info.context,
            input.invoice_id,
            kind=input.kind,
            reason_code=input.reason,
            currency=input.currency,
            amount=None if input.amount is None else int(input.amount),
            lines=lines,
            idempotency_key=input.idempotency_key,
            reason=reason,
        )
        if isinstance(found, DomainError):
            return user_error(found)
        return CreditNoteCreatePayload(
            credit_note=CreditNote.from_row(found.credit_note),
            invoice=Invoice.from_row(found.invoice),
        )

    @described.mutation(
        description="Staff only: void an open invoice, here and at the billing provider, so "
        "nothing is collected on it (a paid one is INVOICE_PAID: give it back with "
        "creditNoteCreate). Voiding a void invoice changes nothing (audited)."
    )
    async def invoice_void(
        self, info: strawberry.Info, invoice_id: strawberry.ID, reason: RequiredReason
    ) -> InvoiceVoidResult:  # type: ignore[valid-type]
        found = await resolve.void(info.context, invoice_id, reason)
        if isinstance(found, DomainError):
            return user_error(found)
        return InvoiceVoidPayload(invoice=Invoice.from_row(found))
