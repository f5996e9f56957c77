"""creditNoteCreate and invoiceVoid (staff): decode the ids, run the use case to its end
even if the request is cut meanwhile (its retry replays it), and turn expected failures into
values for the result unions; Subscription.dunning's state from what its loader collected."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from app.db.repositories.dunning import Collected
from app.db.tables import Invoice
from app.domain.credit_notes import CreditLine
from app.domain.dunning import Dunning, dunning_of
from app.domain.enums import CreditNoteKind, CreditNoteReason
from app.domain.errors import DomainError
from app.services.orders.errors import NotAllowed
from app.services.payments.credit_notes import CreditNoteRequest, Issued, create_credit_note
from app.services.payments.invoice_void import void_invoice
from resolvers.audit import require_admin
from resolvers.context import RequestContext
from resolvers.errors import forbidden
from resolvers.ids import expect_global_id

__all__ = ["Issued", "create", "dunning", "void"]

T = TypeVar("T")


async def _answer(ctx: RequestContext, work: Callable[[], Awaitable[T]]) -> T | DomainError:
    require_admin(ctx)
    try:
        return await ctx.uncancelled(work())
    except NotAllowed as exc:
        raise forbidden() from exc
    except DomainError as error:
        return error


async def create(
    ctx: RequestContext,
    invoice_id: str,
    *,
    kind: CreditNoteKind,
    reason_code: CreditNoteReason,
    currency: str,
    amount: int | None,
    lines: Sequence[CreditLine],
    idempotency_key: str,
    reason: str,
) -> Issued | DomainError:
    request = CreditNoteRequest(
        invoice_id=expect_global_id(invoice_id, "Invoice") or 0,
        kind=kind,
        reason=reason_code,
        currency=currency,
        idempotency_key=idempotency_key,
        amount=amount,
        lines=tuple(lines),
    )
    return await _answer(
        ctx,
        lambda: create_credit_note(
            ctx.runtime, ctx.principal, request, reason=reason, request_id=ctx.request_id
        ),
    )


async def void(ctx: RequestContext, invoice_id: str, reason: str) -> Invoice | DomainError:
    pk = expect_global_id(invoice_id, "Invoice") or 0
    return await _answer(
        ctx,
        lambda: void_invoice(
            ctx.runtime, ctx.principal, pk, reason=reason, request_id=ctx.request_id
        ),
    )


def dunning(ctx: RequestContext, collected: Collected) -> Dunning | None:
    """A subscription's dunning state today, from what its loader collected."""
    invoices, renewal = collected
    return dunning_of(invoices, renewal, ctx.runtime.clock.today())
