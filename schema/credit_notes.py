"""Credit notes: money given back against an invoice, shown on it (Invoice.creditNotes)."""

from __future__ import annotations

from datetime import datetime

import strawberry

from app.db import tables
from schema.common import Money
from schema.enums import CreditNoteKind, CreditNoteReason, CreditNoteStatus


@strawberry.type
class CreditNoteLine:
    description: str
    amount: Money


@strawberry.type(
    description="Money given back against an invoice: refunded to the payment method that "
    "paid it (REFUND, with the billing provider's refund), or credited outside the provider "
    "(CREDIT). Its amount is in the invoice's currency and is the sum of its lines."
)
class CreditNote:
    number: str
    kind: CreditNoteKind
    reason: CreditNoteReason
    status: CreditNoteStatus = strawberry.field(
        description="PENDING: the refund is held until the provider answers (retry the "
        "mutation with the same idempotency key); FAILED: the provider refused it, nothing "
        "was given back."
    )
    amount: Money
    lines: list[CreditNoteLine]
    refund_ref: str | None = strawberry.field(
        description="The billing provider's refund, for a REFUND note once issued."
    )
    created_at: datetime
    issued_at: datetime | None

    @classmethod
    def from_row(cls, row: tables.CreditNote) -> CreditNote:
        currency = row.currency
        return cls(
            number=row.number,
            kind=row.kind,
            reason=row.reason,
            status=row.status,
            amount=Money.of(row.amount, currency),
            lines=[
                CreditNoteLine(
                    description=str(line["description"]),
                    amount=Money.of(int(line["amount"]), currency),
                )
                for line in row.lines
            ],
            refund_ref=row.refund_ref,
            created_at=row.created_at,
            issued_at=row.issued_at,
        )
