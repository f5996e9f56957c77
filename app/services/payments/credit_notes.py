"""creditNoteCreate: staff give money back against a paid invoice, in full or in part, with a
credit note (the rules: app/domain/credit_notes.py; the decisions: docs/money-back.md).

1. Claim (one transaction, the invoice row locked): the request checked (staff, a reason, the
   invoice's currency, lines above zero), what is left to give back computed from the
   invoice's notes (PENDING ones count), and the note inserted PENDING with its number. A
   refusal changes nothing and calls no provider. A retry with the note's idempotency key
   finds it: the same request replays it (an unanswered refund is sent again, with the same
   provider key); another request under that key is IDEMPOTENCY_KEY_REUSED.
2. A CREDIT note is ISSUED in that transaction (nothing is sent to the provider). A REFUND
   note's refund is sent with no transaction open, through the billing room
   (`reversal.refund`, key `credit-note:<note>:refund`), against the invoice's succeeded
   payment.
3. Recorded (the invoice locked again): ISSUED with the provider's refund ref, or FAILED
   with the provider's code when it refused (nothing given back; the reservation released).
   Unreachable: the note stays PENDING, holding its amount, and the answer is
   PROVIDER_UNAVAILABLE; its retry with the same key sends the same refund again.

The invoice becomes REFUNDED once its issued notes give back its whole total. Every issued
or refused note has one audit row on the invoice (`credit_note.issued`,
`credit_note.refund_refused`) with the staff's reason."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.auth.authenticate import read_scope
from app.auth.principals import Principal, PrincipalKind
from app.db.repositories import payments as repo
from app.db.tables import CreditNote, Invoice, Order, Payment
from app.db.unit_of_work import unit_of_work
from app.domain import credit_notes as rules
from app.domain.credit_notes import CreditLine, Given
from app.domain.enums import (
    CreditNoteKind,
    CreditNoteReason,
    CreditNoteStatus,
    InvoiceStatus,
    OrderStatus,
    PaymentStatus,
)
from app.domain.errors import DomainError, ErrorCode
from app.providers.errors import ProviderError, ProviderRejected
from app.runtime import Runtime
from app.services import audit, numbering
from app.services.billing import keys, reversal
from app.services.orders.errors import NotAllowed
from app.services.payments.payment_methods import checked_key

NO_INVOICE = DomainError(ErrorCode.NOT_FOUND, "No such invoice.")
KEY_REUSED = DomainError(
    ErrorCode.IDEMPOTENCY_KEY_REUSED,
    "This idempotency key was used for another credit note on this invoice.",
)
UNAVAILABLE = DomainError(
    ErrorCode.PROVIDER_UNAVAILABLE,
    "Billing is unavailable; the refund is held for this credit note. Retry with the same "
    "idempotency key.",
)
GIVEN_BACK = (CreditNoteStatus.PENDING, CreditNoteStatus.ISSUED)


@dataclass(frozen=True, slots=True)
class CreditNoteRequest:
    invoice_id: int
    kind: CreditNoteKind
    reason: CreditNoteReason
    currency: str
    idempotency_key: str
    amount: int | None = None
    lines: tuple[CreditLine, ...] = ()


@dataclass(frozen=True, slots=True)
class Issued:
    credit_note: CreditNote
    invoice: Invoice


class RefundRefused(DomainError):
    """The billing provider refused the refund: the note is FAILED, nothing was given back."""

    def __init__(self, number: str, provider_code: str) -> None:
        super().__init__(
            ErrorCode.PROVIDER_REJECTED,
            f"The billing provider refused the refund of credit note {number} "
            f"({provider_code}); nothing was given back.",
        )
        self.provider_code = provider_code


async def create_credit_note(
    runtime: Runtime,
    principal: Principal,
    request: CreditNoteRequest,
    *,
    reason: str | None,
    request_id: str | None = None,
) -> Issued:
    """The ISSUED note with its invoice; or a DomainError (nothing changed, except a refund
    the provider refused: its note FAILED)."""
    if principal.kind is not PrincipalKind.ADMIN:
        raise NotAllowed
    attributed = audit.attribution(principal, reason, request_id)
    key = checked_key(request.idempotency_key)
    async with unit_of_work(runtime.sessions) as session:
        note = await _claim(session, runtime, principal, request, key, attributed)
        invoice = await session.get(Invoice, note.invoice_id)
        assert invoice is not None
        if note.status is CreditNoteStatus.ISSUED:
            return Issued(note, invoice)
        if note.status is CreditNoteStatus.FAILED:
            raise RefundRefused(note.number, note.failure_code or "rejected")
        payment = await session.get(Payment, note.payment_id)
        assert note.id is not None and payment is not None and payment.provider_ref
        note_id, payment_ref = note.id, payment.provider_ref
    try:
        refund = await reversal.refund(
            runtime.providers.billing,
            payment_ref,
            note.amount,
            key=keys.credit_note_refund(note_id),
        )
    except ProviderRejected as error:
        await _refused(runtime, principal, note_id, error.code, attributed)
        raise RefundRefused(note.number, error.code) from error
    except ProviderError as error:
        raise UNAVAILABLE from error
    async with unit_of_work(runtime.sessions) as session:
        return await _issued(session, runtime, principal, note_id, refund.ref, attributed)


def digest(request: CreditNoteRequest, lines: tuple[CreditLine, ...]) -> str:
    """What the key stands for: the same request under the key replays, another is refused."""
    body = {
        "kind": request.kind.value,
        "reason": request.reason.value,
        "currency": request.currency.strip().upper(),
        "lines": [[line.description, line.amount] for line in lines],
    }
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


async def _claim(
    session: AsyncSession,
    runtime: Runtime,
    principal: Principal,
    request: CreditNoteRequest,
    key: str,
    attributed: audit.Attribution,
) -> CreditNote:
    invoice = await repo.invoice_for_update(session, read_scope(principal), request.invoice_id)
    if invoice is None or invoice.id is None:
        raise NO_INVOICE
    lines = rules.credit_lines(
        amount=request.amount,
        lines=request.lines,
        currency=request.currency,
        invoice_currency=invoice.currency,
        default_description=f"Credit against invoice {invoice.number}",
    )
    wanted = digest(request, lines)
    notes = await notes_of(session, invoice.id)
    found = next((note for note in notes if note.idempotency_key == key), None)
    if found is not None:
        if found.request_digest != wanted:
            raise KEY_REUSED
        return found
    await _check_creditable(session, invoice, notes)
    amount = sum(line.amount for line in lines)
    payment = await _refundable_payment(session, invoice.id)
    paid = payment.amount if payment is not None else 0
    rules.check_room(
        request.kind,
        amount,
        total=invoice.total,
        paid=min(paid, invoice.amount_paid),
        given=given(notes),
        currency=invoice.currency,
    )
    now = runtime.clock.now()
    refund = request.kind is CreditNoteKind.REFUND
    note = CreditNote(
        number=await numbering.credit_note_number(session),
        invoice_id=invoice.id,
        customer_id=invoice.customer_id,
        kind=request.kind,
        reason=request.reason,
        status=CreditNoteStatus.PENDING if refund else CreditNoteStatus.ISSUED,
        currency=invoice.currency,
        amount=amount,
        lines=[{"description": line.description, "amount": line.amount} for line in lines],
        idempotency_key=key,
        request_digest=wanted,
        payment_id=payment.id if refund and payment is not None else None,
        created_by=principal.audit_actor[:200],
        created_at=now,
        issued_at=None if refund else now,
    )
    session.add(note)
    await session.flush()
    if not refund:
        await _settle(session, principal, invoice, note, attributed, now)
    return note


async def _check_creditable(
    session: AsyncSession, invoice: Invoice, notes: list[CreditNote]
) -> None:
    """Paid (or refunded in full by its own notes: nothing is left, as the room check says)."""
    by_notes = invoice.status is InvoiceStatus.REFUNDED and any(
        note.status is CreditNoteStatus.ISSUED for note in notes
    )
    if invoice.status is not InvoiceStatus.PAID and not by_notes:
        raise DomainError(
            ErrorCode.INVOICE_NOT_PAID,
            f"Invoice {invoice.number} is {invoice.status.value}; money is given back only on "
            "a paid invoice (an open one is voided with invoiceVoid).",
        )
    if invoice.order_id is not None:
        order = await session.get(Order, invoice.order_id)
        if order is not None and order.status is OrderStatus.PENDING:
            raise DomainError(
                ErrorCode.ORDER_IN_PROGRESS,
                f"Invoice {invoice.number}'s order is still being executed; retry once it "
                "has completed.",
            )


async def _refundable_payment(session: AsyncSession, invoice_id: int) -> Payment | None:
    """The succeeded payment the provider holds for the invoice (the latest, if several)."""
    stmt = (
        sa.select(Payment)
        .where(
            col(Payment.invoice_id) == invoice_id,
            col(Payment.status) == PaymentStatus.SUCCEEDED,
            col(Payment.provider_ref).is_not(None),
        )
        .order_by(col(Payment.id).desc())
    )
    return (await session.scalars(stmt)).first()


async def notes_of(session: AsyncSession, invoice_id: int) -> list[CreditNote]:
    stmt = (
        sa.select(CreditNote)
        .where(col(CreditNote.invoice_id) == invoice_id)
        .order_by(col(CreditNote.id))
        .execution_options(populate_existing=True)
    )
    return list((await session.scalars(stmt)).all())


def given(notes: list[CreditNote]) -> Given:
    counted = [note for note in notes if note.status in GIVEN_BACK]
    return Given(
        credited=sum(note.amount for note in counted),
        refunded=sum(note.amount for note in counted if note.kind is CreditNoteKind.REFUND),
    )


async def _locked(session: AsyncSession, note_id: int) -> tuple[CreditNote, Invoice]:
    note = await session.get(CreditNote, note_id)
    assert note is not None
    invoice = await session.get(
        Invoice, note.invoice_id, with_for_update=True, populate_existing=True
    )
    assert invoice is not None
    await session.refresh(note)
    return note, invoice


async def _issued(
    session: AsyncSession,
    runtime: Runtime,
    principal: Principal,
    note_id: int,
    refund_ref: str,
    attributed: audit.Attribution,
) -> Issued:
    note, invoice = await _locked(session, note_id)
    if note.status is CreditNoteStatus.PENDING:  # not recorded by a concurrent retry
        now = runtime.clock.now()
        note.status, note.refund_ref, note.issued_at = CreditNoteStatus.ISSUED, refund_ref, now
        await _settle(session, principal, invoice, note, attributed, now)
    return Issued(note, invoice)


async def _settle(
    session: AsyncSession,
    principal: Principal,
    invoice: Invoice,
    note: CreditNote,
    attributed: audit.Attribution,
    now: datetime,
) -> None:
    """The issued note's audit row; the invoice REFUNDED once its whole total is given back."""
    await session.flush()  # the note as issued, before its invoice's notes are read
    before = {"status": invoice.status.value}
    issued = [
        row
        for row in await notes_of(session, invoice.id or 0)
        if row.status is CreditNoteStatus.ISSUED
    ]
    if invoice.status is InvoiceStatus.PAID and sum(row.amount for row in issued) >= invoice.total:
        invoice.status = InvoiceStatus.REFUNDED
    await audit.record(
        session,
        principal,
        "credit_note.issued",
        ("Invoice", invoice.id or 0),
        before=before,
        after={
            "status": invoice.status.value,
            "credit_note": note.number,
            "kind": note.kind.value,
            "amount": note.amount,
            "currency": note.currency,
            "refund_ref": note.refund_ref,
        },
        attributed=attributed,
        now=now,
    )


async def _refused(
    runtime: Runtime,
    principal: Principal,
    note_id: int,
    code: str,
    attributed: audit.Attribution,
) -> None:
    async with unit_of_work(runtime.sessions) as session:
        note, invoice = await _locked(session, note_id)
        if note.status is not CreditNoteStatus.PENDING:
            return
        note.status, note.failure_code = CreditNoteStatus.FAILED, code[:64]
        await audit.record(
            session,
            principal,
            "credit_note.refund_refused",
            ("Invoice", invoice.id or 0),
            after={"credit_note": note.number, "amount": note.amount, "provider_code": code},
            attributed=attributed,
            now=runtime.clock.now(),
        )
