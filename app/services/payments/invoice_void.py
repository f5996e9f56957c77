"""invoiceVoid: staff void an OPEN invoice, with a reason: nothing is collected on it again,
here or at the billing provider (docs/money-back.md).

1. Claim (the invoice locked): only an OPEN one (a PAID one is INVOICE_PAID: it is given back
   with a credit note; DRAFT/UNCOLLECTIBLE/REFUNDED are INVOICE_NOT_OPEN); an invoice already
   VOID is answered as it is, with nothing done (a retry of a void that went through). The
   subscription's order lease is taken as pay-now takes it, so no order, charge or job runs
   on it meanwhile (PAYMENT_IN_PROGRESS while one does); an order still executing is the
   order's to settle (ORDER_IN_PROGRESS).
2. The provider's invoice voided through the billing room (`reversal.void`, key
   `invoice:<id>:void`), no transaction open. Paid there meanwhile: INVOICE_PAID, nothing
   changed here (the billing sync and webhooks bring the payment in). Unreachable or refused:
   the typed provider error, nothing changed. An invoice never issued there is voided here
   only.
3. Recorded: VOID, its copy marked for the billing sync, a declined renewal it billed LAPSED
   (its grace retries stop; the subscription still expires at its grace end unless an order
   renews it), the lease given back, and one audit row `invoice.voided` with the reason."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.authenticate import read_scope
from app.auth.principals import Principal, PrincipalKind
from app.db.repositories import lifecycle as lifecycle_repo
from app.db.repositories import payments as repo
from app.db.tables import Invoice, Order
from app.db.unit_of_work import unit_of_work
from app.domain.enums import InvoiceStatus, OrderStatus, SyncStatus
from app.domain.errors import DomainError, ErrorCode
from app.domain.lifecycle import RenewalStatus
from app.domain.reconciliation import ReconciliationStatus
from app.providers.errors import ProviderError, ProviderRejected
from app.runtime import Runtime
from app.services import audit
from app.services.billing import keys, outcomes, reversal
from app.services.orders.errors import NotAllowed
from app.services.payments.errors import PaymentInProgress
from app.services.payments.pay_now import NO_INVOICE, RETRY_AFTER_SECONDS
from app.services.payments.payment_methods import UNAVAILABLE

LEASE = timedelta(minutes=2)  # outlives the provider call's time limit
INVOICE_PAID = "invoice_paid"


@dataclass(frozen=True, slots=True)
class _Claimed:
    invoice_id: int
    provider_ref: str | None
    subscription_id: int | None
    lease_until: datetime
    done: Invoice | None = None  # already VOID: nothing to do


def paid_error(number: str) -> DomainError:
    return DomainError(
        ErrorCode.INVOICE_PAID,
        f"Invoice {number} is paid; a paid invoice is never voided. Give its money back with "
        "creditNoteCreate.",
    )


async def void_invoice(
    runtime: Runtime,
    principal: Principal,
    invoice_id: int,
    *,
    reason: str | None,
    request_id: str | None = None,
) -> Invoice:
    if principal.kind is not PrincipalKind.ADMIN:
        raise NotAllowed
    attributed = audit.attribution(principal, reason, request_id)
    claimed = await _claim(runtime, principal, invoice_id)
    if claimed.done is not None:
        return claimed.done
    if claimed.provider_ref is not None:
        try:
            await reversal.void(
                runtime.providers.billing,
                claimed.provider_ref,
                key=keys.invoice_void(claimed.invoice_id),
            )
        except ProviderRejected as error:
            number = await _release(runtime, claimed)
            if error.code == INVOICE_PAID:
                raise paid_error(number) from error
            raise DomainError(
                ErrorCode.PROVIDER_REJECTED,
                f"The billing provider refused to void invoice {number} ({error.code}); "
                "nothing was changed.",
            ) from error
        except ProviderError as error:
            await _release(runtime, claimed)
            raise UNAVAILABLE from error
    async with unit_of_work(runtime.sessions) as session:
        return await _record(session, runtime, principal, claimed, attributed)


async def _claim(runtime: Runtime, principal: Principal, invoice_id: int) -> _Claimed:
    now = runtime.clock.now()
    until = now + LEASE
    async with unit_of_work(runtime.sessions) as session:
        invoice = await repo.invoice_for_update(session, read_scope(principal), invoice_id)
        if invoice is None or invoice.id is None:
            raise NO_INVOICE
        if invoice.status is InvoiceStatus.VOID:
            return _Claimed(invoice.id, None, None, until, done=invoice)
        if invoice.status in (InvoiceStatus.PAID, InvoiceStatus.REFUNDED):
            raise paid_error(invoice.number)
        if invoice.status is not InvoiceStatus.OPEN:
            raise DomainError(
                ErrorCode.INVOICE_NOT_OPEN,
                f"Invoice {invoice.number} is {invoice.status.value}; only an open invoice is "
                "voided.",
            )
        await _check_not_busy(session, invoice, now, until)
        return _Claimed(invoice.id, invoice.provider_ref, invoice.subscription_id, until)


async def _check_not_busy(
    session: AsyncSession, invoice: Invoice, now: datetime, until: datetime
) -> None:
    busy = PaymentInProgress(
        "The invoice is being charged, or its subscription changed, now; nothing was voided. "
        "Retry in a moment.",
        RETRY_AFTER_SECONDS,
    )
    if invoice.order_id is not None:
        order = await session.get(Order, invoice.order_id)
        if order is not None and order.status is OrderStatus.PENDING:
            raise DomainError(
                ErrorCode.ORDER_IN_PROGRESS,
                f"Invoice {invoice.number} is an order's that is still being executed: the "
                "order voids it itself if it fails.",
            )
    if invoice.subscription_id is None:
        if await repo.processing_request(session, invoice.id or 0, now) is not None:
            raise busy
        return
    if not await lifecycle_repo.take_lease(session, invoice.subscription_id, now, until):
        raise busy
    quarter = await repo.reconciliation_of_invoice(session, invoice.id or 0)
    if quarter is not None and quarter.status is ReconciliationStatus.INVOICING:
        raise busy


async def _release(runtime: Runtime, claimed: _Claimed) -> str:
    """The lease given back after a failed provider call; the invoice's number."""
    async with unit_of_work(runtime.sessions) as session:
        if claimed.subscription_id is not None:
            await lifecycle_repo.release_lease(
                session, claimed.subscription_id, claimed.lease_until
            )
        invoice = await session.get(Invoice, claimed.invoice_id)
        assert invoice is not None
        return invoice.number


async def _record(
    session: AsyncSession,
    runtime: Runtime,
    principal: Principal,
    claimed: _Claimed,
    attributed: audit.Attribution,
) -> Invoice:
    now = runtime.clock.now()
    invoice = await session.get(
        Invoice, claimed.invoice_id, with_for_update=True, populate_existing=True
    )
    assert invoice is not None
    before = {"status": invoice.status.value}
    if invoice.status is InvoiceStatus.OPEN:
        outcomes.voided(invoice)
        if invoice.provider_ref is not None:
            invoice.sync_status = SyncStatus.PENDING  # the next billing sync checks its copy
        renewal = await repo.renewal_of_invoice(session, invoice.id or 0)
        lapsed = renewal is not None and renewal.status is RenewalStatus.DECLINED
        if renewal is not None and lapsed:
            renewal.status, renewal.completed_at = RenewalStatus.LAPSED, now
            renewal.next_attempt_on = None
        await audit.record(
            session,
            principal,
            "invoice.voided",
            ("Invoice", invoice.id or 0),
            before=before,
            after={"status": invoice.status.value, "renewal_lapsed": lapsed},
            attributed=attributed,
            now=now,
        )
    if claimed.subscription_id is not None:
        await lifecycle_repo.release_lease(session, claimed.subscription_id, claimed.lease_until)
    return invoice
