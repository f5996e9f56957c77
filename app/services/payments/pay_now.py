"""invoicePay: charge an open invoice's balance now with the account's current payment method.

Once per (payer, idempotency key): the first request claims the key with a row
(PayNowRequest) and charges; a concurrent request with the key waits for it, and any later
one replays the stored outcome (PAID, or the decline) without calling the provider. The same
key for another invoice is IDEMPOTENCY_KEY_REUSED.

At most one charge per invoice at a time: the claim locks the invoice row and takes the
subscription's order lease (`order_lease`, as the lifecycle jobs hold it: an order or a job
holding it makes this PAYMENT_IN_PROGRESS, and none of them starts while this holds it); an
invoice without a subscription is PAYMENT_IN_PROGRESS while another of its requests is being
charged. The
charge is the billing room's (app/services/billing/), with its keys, so a request whose
outcome was not recorded (the provider unreachable) is resumed by its retry with the same
keys and the provider replays it.

A declined renewal in grace is charged as the renewal's next attempt, through the renewal
job's own steps (`claim_for_charge`, `renew_at_provider`, `record_outcome`): paid, the
subscription renews exactly as after a successful grace retry; declined, it stays in grace
with the next retry scheduled. Any other open invoice just becomes PAID (a declined
reconciliation's quarter with it, as its job records a paid charge). An order's invoice is
the order's to collect (INVOICE_NOT_PAYABLE)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.authenticate import read_scope
from app.auth.principals import Principal
from app.db.repositories import lifecycle as lifecycle_repo
from app.db.repositories import orders
from app.db.repositories import payments as repo
from app.db.tables import BillingAccount, Invoice, Payment, PayNowRequest, Subscription
from app.db.unit_of_work import unit_of_work
from app.domain.enums import InvoiceStatus, PayNowStatus
from app.domain.errors import DomainError, ErrorCode
from app.domain.lifecycle import RenewalStatus
from app.domain.reconciliation import ReconciliationStatus
from app.providers.errors import ProviderError, ProviderRejected
from app.providers.tax import TaxProvider
from app.runtime import Runtime
from app.services import audit, subscription_sync
from app.services.billing import charging, keys, outcomes
from app.services.lifecycle import reconciliation, renewal
from app.services.lifecycle.common import CHARGE_TIMEOUT, Claim
from app.services.orders.errors import INVOICE_STAYS_OPEN, PaymentDeclined
from app.services.payments.access import check_may_pay, require_payer
from app.services.payments.errors import NoPaymentMethod, PaymentInProgress
from app.services.payments.payment_methods import UNAVAILABLE, checked_key

# The lease outlives the charge's time limit, so it never runs out while the charge runs.
LEASE = CHARGE_TIMEOUT + timedelta(seconds=30)
WAIT_SECONDS = 10.0  # a request waits at most this (or a third of its time limit) for its key
BACKOFF_SECONDS = 0.05
RETRY_AFTER_SECONDS = 5

NO_INVOICE = DomainError(ErrorCode.NOT_FOUND, "No such invoice.")
KEY_REUSED = DomainError(
    ErrorCode.IDEMPOTENCY_KEY_REUSED, "This idempotency key was used to pay another invoice."
)


@dataclass(frozen=True, slots=True)
class PaidInvoice:
    invoice: Invoice
    payment: Payment | None  # None: nothing was owed
    renewed_subscription_id: int | None  # the subscription its payment renewed, if any


@dataclass(frozen=True, slots=True)
class _Charge:
    """A claimed charge: the request, the invoice, the provider keys, and the lease."""

    request_id: int
    invoice_id: int
    subscription_id: int | None
    key: str
    attempt: int
    claim: Claim
    renewal: renewal.Work | None  # a declined renewal charged as its next attempt


async def pay_invoice(
    runtime: Runtime,
    principal: Principal,
    invoice_id: int,
    idempotency_key: str,
    *,
    reason: str | None = None,
    request_id: str | None = None,
) -> PaidInvoice:
    """The invoice PAID, or PaymentDeclined raised (the failed payment recorded, the invoice
    still OPEN); replayed for the same key."""
    attributed = audit.attribution(principal, reason, request_id)
    require_payer(principal)
    key = checked_key(idempotency_key)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + min(WAIT_SECONDS, runtime.settings.request_timeout_seconds / 3)
    pause = BACKOFF_SECONDS
    while True:
        step = await _claim(runtime, principal, invoice_id, key)
        if isinstance(step, _Charge):
            return await _charge(runtime, principal, attributed, step)
        if step is not None:
            return await _replay(runtime, step)
        if loop.time() + pause > deadline:
            raise PaymentInProgress(
                "A request with this idempotency key is paying the invoice; retry with it to "
                "see the outcome.",
                RETRY_AFTER_SECONDS,
            )
        await asyncio.sleep(pause)
        pause = min(pause * 2, 1.0)


async def _claim(
    runtime: Runtime, principal: Principal, invoice_id: int, key: str
) -> _Charge | PayNowRequest | None:
    """A charge to make, a finished request to replay, or None: the key's request is being
    charged by another request now."""
    now = runtime.clock.now()
    async with unit_of_work(runtime.sessions) as session:
        invoice = await repo.invoice_for_update(session, read_scope(principal), invoice_id)
        if invoice is None or invoice.id is None:
            raise NO_INVOICE
        account = await session.get(BillingAccount, invoice.billing_account_id)
        assert account is not None and account.id is not None
        check_may_pay(principal, account, invoice.customer_id)
        request = await repo.pay_now_request(session, account.id, key)
        if request is not None:
            if request.invoice_id != invoice.id:
                raise KEY_REUSED
            if request.status is not PayNowStatus.PENDING:
                return request
            if request.processing_until is not None and request.processing_until > now:
                return None
        else:
            _check_payable(invoice, account)
        return await _leased(session, principal, invoice, request, key, now, runtime.providers.tax)


def _check_payable(invoice: Invoice, account: BillingAccount) -> None:
    if invoice.status is not InvoiceStatus.OPEN:
        raise DomainError(
            ErrorCode.INVOICE_NOT_OPEN,
            f"Invoice {invoice.number} is {invoice.status.value}; only an open invoice is paid.",
        )
    if invoice.order_id is not None:
        raise DomainError(
            ErrorCode.INVOICE_NOT_PAYABLE,
            f"Invoice {invoice.number} is an order's: the order collects it, and an order "
            "that failed is placed again (with a new quote).",
        )
    if not account.payment_method:
        raise NoPaymentMethod()


async def _leased(
    session: AsyncSession,
    principal: Principal,
    invoice: Invoice,
    request: PayNowRequest | None,
    key: str,
    now: datetime,
    taxes: TaxProvider,
) -> _Charge:
    """Take the subscription's lease, then claim the key (a new request, or the resumed
    one) and, for a declined renewal, the renewal's next attempt."""
    assert invoice.id is not None
    claim_until = now + LEASE
    subscription = await _lease(session, invoice, now, claim_until)
    resumed = request is not None
    if request is None:
        request = PayNowRequest(
            billing_account_id=invoice.billing_account_id,
            idempotency_key=key,
            invoice_id=invoice.id,
            status=PayNowStatus.PENDING,
            charge_key=keys.pay_now(invoice.id),
            attempt=1 + await repo.declined_attempts(session, invoice.id),
            requested_by=principal.audit_actor[:200],
            created_at=now,
        )
        session.add(request)
        await session.flush()
    assert request.id is not None
    request.processing_until = claim_until
    claim = Claim(f"pay-now:{request.id}", claim_until)
    work = await _renewal_attempt(
        session, invoice, subscription, now, claim, taxes, resumed=resumed
    )
    if work is not None:
        request.charge_key, request.attempt = work.key, work.attempt
    return _Charge(
        request.id,
        invoice.id,
        invoice.subscription_id,
        request.charge_key,
        request.attempt,
        claim,
        work,
    )


async def _lease(
    session: AsyncSession, invoice: Invoice, now: datetime, until: datetime
) -> Subscription | None:
    """The invoice's subscription, locked and leased until `until`. None: it has none, and
    nothing else charges it, so the lease is the invoice's own request being charged (under
    the invoice's row lock, which `_claim` holds): while one processes, another key waits."""
    if invoice.subscription_id is None:
        if await repo.processing_request(session, invoice.id or 0, now) is not None:
            raise PaymentInProgress(
                "Another request is paying this invoice now; nothing was charged. Retry in a "
                "moment to see its outcome.",
                RETRY_AFTER_SECONDS,
            )
        return None
    busy = PaymentInProgress(
        "The subscription is being changed or charged now (an order or a billing job); "
        "nothing was charged. Retry in a moment.",
        RETRY_AFTER_SECONDS,
    )
    subscription = await orders.subscription_for_update(session, invoice.subscription_id)
    if not await lifecycle_repo.take_lease(session, invoice.subscription_id, now, until):
        raise busy
    reconciliation = await repo.reconciliation_of_invoice(session, invoice.id or 0)
    if reconciliation is not None and reconciliation.status is ReconciliationStatus.INVOICING:
        raise busy  # its job's charge is unsettled: the job replays it with its own keys
    return subscription


async def _renewal_attempt(
    session: AsyncSession,
    invoice: Invoice,
    subscription: Subscription | None,
    now: datetime,
    claim: Claim,
    taxes: TaxProvider,
    *,
    resumed: bool,
) -> renewal.Work | None:
    """The renewal this invoice bills, claimed for its next attempt when it was declined
    (or resumed when its charge is unsettled). A resumed request whose renewal was settled
    meanwhile (the grace job replayed the same keys) only replays its own charge."""
    if subscription is None:
        return None
    found = await repo.renewal_of_invoice(session, invoice.id or 0)
    if found is None or found.term_start != subscription.term_end:
        return None
    if found.status is RenewalStatus.PENDING or (
        found.status is RenewalStatus.DECLINED and not resumed
    ):
        return await renewal.claim_for_charge(session, subscription, now, claim, taxes)
    return None


async def _charge(
    runtime: Runtime, principal: Principal, attributed: audit.Attribution, step: _Charge
) -> PaidInvoice:
    try:
        async with asyncio.timeout(CHARGE_TIMEOUT.total_seconds()):
            charged = await charging.charge(runtime, step.invoice_id, step.key, step.attempt)
    except ProviderRejected as error:  # as the renewal job: a refusal is a decline
        charged = charging.Charged(paid=False, payment=None, failure_code=error.code)
    except (ProviderError, TimeoutError) as error:
        await _put_off(runtime, step)
        raise UNAVAILABLE from error
    if charged.paid and step.renewal is not None:
        await renewal.renew_at_provider(runtime, step.renewal)
    async with unit_of_work(runtime.sessions) as session:
        await _record(session, runtime, principal, attributed, step, charged)
        if charged.paid:
            payment_id = await _payment_id(session, charged)
            return await _paid(session, step.invoice_id, payment_id)
    raise PaymentDeclined(charged.failure_code or "declined", step.invoice_id, INVOICE_STAYS_OPEN)


async def _put_off(runtime: Runtime, step: _Charge) -> None:
    """The provider did not answer: the request stays PENDING (its retry resumes it with the
    same keys) and the lease is given back. A renewal's attempt stays claimed until the
    claim runs out; then its retry, or the grace job, replays it."""
    async with unit_of_work(runtime.sessions) as session:
        for request in await repo.unsettled_requests(session, step.invoice_id):
            request.processing_until = None
        if step.subscription_id is not None:
            await lifecycle_repo.release_lease(session, step.subscription_id, step.claim.until)


async def _record(
    session: AsyncSession,
    runtime: Runtime,
    principal: Principal,
    attributed: audit.Attribution,
    step: _Charge,
    charged: charging.Charged,
) -> None:
    """The outcome on the invoice (and the renewal), every request waiting on this charge
    finished with it, the lease given back, and one audit row."""
    now = runtime.clock.now()
    invoice = await session.get(
        Invoice, step.invoice_id, with_for_update=True, populate_existing=True
    )
    assert invoice is not None
    before = {"status": invoice.status.value, "amount_paid": invoice.amount_paid}
    if step.renewal is not None:
        await renewal.record_outcome(session, step.renewal, charged, step.claim, now)
    else:
        if not await _recorded(session, invoice, charged):
            await outcomes.record_charge(session, invoice, charged, now=now)
        await _reconciled(session, invoice, charged, now)
        if step.subscription_id is not None:
            await lifecycle_repo.release_lease(session, step.subscription_id, step.claim.until)
            if charged.paid:  # the billing sync checks the paid invoice against the provider
                payload = {"subscription_id": step.subscription_id}
                sync_key = f"pay-now:{step.request_id}:billing"
                await subscription_sync.queue(session, payload, sync_key, now=now)
    await session.flush()
    payment_id = await _payment_id(session, charged)
    for request in await repo.unsettled_requests(session, invoice.id or 0):
        if (request.charge_key, request.attempt) == (step.key, step.attempt):
            request.status = PayNowStatus.PAID if charged.paid else PayNowStatus.DECLINED
            request.decline_code = None if charged.paid else charged.failure_code or "declined"
            request.payment_id, request.processing_until = payment_id, None
            request.completed_at = now
    await audit.record(
        session,
        principal,
        "invoice.paid" if charged.paid else "invoice.payment_declined",
        ("Invoice", invoice.id or 0),
        before=before,
        after={
            "status": invoice.status.value,
            "amount_paid": invoice.amount_paid,
            "payment_ref": charged.payment.ref if charged.payment else None,
            "decline_code": None if charged.paid else charged.failure_code,
            "renewal_attempt": step.attempt if step.renewal is not None else None,
        },
        attributed=attributed,
        now=now,
    )


async def _reconciled(
    session: AsyncSession, invoice: Invoice, charged: charging.Charged, now: datetime
) -> None:
    """A declined quarter's invoice paid now makes the quarter PAID, as its job would have."""
    quarter = await repo.reconciliation_of_invoice(session, invoice.id or 0)
    if charged.paid and quarter is not None and quarter.status is ReconciliationStatus.DECLINED:
        reconciliation.record_charged(quarter, True, now)


async def _recorded(session: AsyncSession, invoice: Invoice, charged: charging.Charged) -> bool:
    """Whether this charge's outcome is on the invoice already (a resumed request replays
    a charge someone recorded)."""
    if charged.payment is not None:
        return await orders.payment_by_ref(session, charged.payment.ref) is not None
    return charged.paid and invoice.status is InvoiceStatus.PAID


async def _payment_id(session: AsyncSession, charged: charging.Charged) -> int | None:
    if charged.payment is None:
        return None
    row = await orders.payment_by_ref(session, charged.payment.ref)
    return row.id if row is not None else None


async def _replay(runtime: Runtime, request: PayNowRequest) -> PaidInvoice:
    if request.status is PayNowStatus.DECLINED:
        raise PaymentDeclined(
            request.decline_code or "declined", request.invoice_id, INVOICE_STAYS_OPEN
        )
    async with unit_of_work(runtime.sessions, write=False) as session:
        return await _paid(session, request.invoice_id, request.payment_id)


async def _paid(session: AsyncSession, invoice_id: int, payment_id: int | None) -> PaidInvoice:
    invoice = await session.get(Invoice, invoice_id)
    assert invoice is not None
    payment = await session.get(Payment, payment_id) if payment_id is not None else None
    billed = await repo.renewal_of_invoice(session, invoice_id)
    renewed = billed.subscription_id if billed and billed.status is RenewalStatus.PAID else None
    return PaidInvoice(invoice, payment, renewed)
