"""The steps of executing a claimed order: prepare (re-price under the lease, invoice),
collect (the billing provider, idempotent per order), complete or fail (one commit each)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.authenticate import read_scope
from app.auth.principals import Principal
from app.db.repositories import commerce, orders
from app.db.tables import BillingAccount, Invoice, Order, Subscription
from app.db.unit_of_work import unit_of_work
from app.domain import promotions
from app.domain.enums import OrderStatus
from app.domain.errors import DomainError, ErrorCode
from app.domain.pricing import PricedOrder
from app.providers.billing import PaymentRecord
from app.providers.errors import ProviderError, ProviderRejected
from app.providers.tax import TaxProvider
from app.services import audit, integration_events
from app.services.billing import accounts, charging, invoices, keys, outcomes
from app.services.orders import settlement
from app.services.orders.applying import apply_order
from app.services.orders.context import OrderDeps
from app.services.orders.errors import PaymentDeclined, failure_result
from app.services.orders.quoting import price_request, priced_payload, quoting_caller
from app.services.orders.requests import OrderRequest
from app.services.orders.state import load_target, paying_account

STALE = DomainError(
    ErrorCode.QUOTE_STALE, "The subscription changed since this quote; quote again."
)
FINISHED_ELSEWHERE = DomainError(
    ErrorCode.ORDER_IN_PROGRESS, "Another request finished this order; retry to see it."
)
UNSETTLED = DomainError(
    ErrorCode.PROVIDER_UNAVAILABLE, "Billing is unavailable; retry with the same idempotency key."
)


def rejected(error: ProviderRejected) -> DomainError:
    return DomainError(ErrorCode.PROVIDER_REJECTED, f"Billing refused the order ({error.code}).")


@dataclass(frozen=True, slots=True)
class Prepared:
    priced: PricedOrder
    invoice: Invoice | None  # None: a zero total is not invoiced (docs/api-guide.md, Buying)
    account: BillingAccount | None


async def prepare(
    deps: OrderDeps,
    principal: Principal,
    request: OrderRequest,
    payload: dict[str, Any],
    order_id: int,
) -> Prepared:
    """Under the lease: the quote must still price to the same lines; then invoice it. An
    order being settled (it failed after its invoice) goes on failing for that reason."""
    async with unit_of_work(deps.sessions) as session:
        order = await _order(session, order_id)  # locked: `fail` never crosses an invoicing
        if order.status is not OrderStatus.PENDING:
            raise FINISHED_ELSEWHERE
        settling = settlement.settling_error(order)
        if settling is not None:
            raise settling
        priced = await _reprice(session, principal, request, payload, deps.tax)
        invoice = await orders.invoice_of_order(session, order_id)
        if invoice is None and priced.total == 0:
            await _redeem_unbilled(session, request, payload, order_id)
            return Prepared(priced, None, None)
        if invoice is None:
            await _redeem(session, request, payload)
            invoice = await _new_invoice(
                session, principal, request, priced, order_id, deps.today()
            )
        account = await session.get(BillingAccount, invoice.billing_account_id)
        assert account is not None
        return Prepared(priced, invoice, account)


async def _reprice(
    session: AsyncSession,
    principal: Principal,
    request: OrderRequest,
    payload: dict[str, Any],
    taxes: TaxProvider,
) -> PricedOrder:
    priced_on = date.fromisoformat(payload["priced_on"])
    try:
        priced = await price_request(
            session, principal, request, quoting_caller(principal), priced_on, taxes
        )
    except DomainError as error:
        if error.code in (ErrorCode.NOT_FOUND, ErrorCode.ORDER_IN_PROGRESS) or (
            error.code in promotions.REFUSALS
        ):
            raise
        raise DomainError(ErrorCode.QUOTE_STALE, f"{STALE.message} ({error.message})") from error
    # A token from before tax existed has no "tax": its lines then differ, and it is stale.
    keys = ("currency", "lines", "subtotal", "discount", "tax", "total")
    quoted = {k: payload.get(k, 0) for k in keys}
    if priced_payload(priced) != quoted:
        raise STALE
    return priced


async def _redeem(session: AsyncSession, request: OrderRequest, payload: dict[str, Any]) -> None:
    if not request.promo_code:
        return
    promotion = await commerce.find_promotion(session, request.promo_code)
    if promotion is None:  # expired by an admin since the quote
        raise DomainError(ErrorCode.PROMO_CODE_INVALID, "The promo code can no longer be used.")
    if not await commerce.redeem_promotion(session, promotion.id or 0):
        raise DomainError(ErrorCode.PROMO_CODE_EXHAUSTED, "The promo code has been fully redeemed.")


async def _redeem_unbilled(
    session: AsyncSession, request: OrderRequest, payload: dict[str, Any], order_id: int
) -> None:
    """Without an invoice to show it, the pending order's row remembers that its promotion
    was redeemed, so a resumed order never redeems it twice."""
    order = await _order(session, order_id)
    if not _redeemed_unbilled(order):
        await _redeem(session, request, payload)
        order.result = {"promotion_redeemed": True}


def _redeemed_unbilled(order: Order) -> bool:
    """Whether a pending zero-total order already redeemed its promotion (if it has one).
    An invoiced order's promotion was redeemed with its invoice."""
    return bool((order.result or {}).get("promotion_redeemed"))


async def _new_invoice(
    session: AsyncSession,
    principal: Principal,
    request: OrderRequest,
    priced: PricedOrder,
    order_id: int,
    today: date,
) -> Invoice:
    target = await load_target(session, read_scope(principal), request)
    account = await paying_account(session, target)
    if account is None:
        raise DomainError(ErrorCode.VALIDATION, "There is no billing account to charge.")
    billed = invoices.Billed(
        customer_id=target.customer.id or 0,
        billing_account_id=account.id or 0,
        subscription_id=target.subscription.id if target.subscription else None,
        currency=priced.currency,
        order_id=order_id,
    )
    amounts = invoices.Amounts(priced.subtotal, priced.discount, priced.total, priced.tax)
    return await invoices.write_invoice(session, billed, priced.lines, today, amounts)


async def collect(deps: OrderDeps, order_id: int, prepared: Prepared) -> PaymentRecord | None:
    """Charge the invoice through the provider; every call is keyed by the order, so a resumed
    order never charges twice (one whose card was changed or removed meanwhile completes with
    the payment the provider collected already). A zero total needs no payment."""
    if prepared.invoice is None or prepared.invoice.total == 0:
        return None
    assert prepared.account is not None
    account_ref = await accounts.provider_account(deps.sessions, deps.billing, prepared.account)
    invoice_ref = prepared.invoice.provider_ref or await _provider_invoice(
        deps, order_id, account_ref, prepared
    )
    payment = await charging.collect_once(
        deps.billing, invoice_ref, prepared.account.payment_method, key=keys.order_payment(order_id)
    )
    if payment is None:
        raise DomainError(ErrorCode.PAYMENT_DECLINED, "There is no payment method on file.")
    if deps.settings.order_pause_after_charge_seconds:  # tests only: room to kill the process
        await asyncio.sleep(deps.settings.order_pause_after_charge_seconds)
    return payment


async def _provider_invoice(
    deps: OrderDeps, order_id: int, account_ref: str, prepared: Prepared
) -> str:
    """Issued from the quote's lines (those the local invoice was written from), stored at
    once: a failed order's settlement voids it by this ref."""
    invoice = prepared.invoice
    assert invoice is not None
    ref = await settlement.issue(deps, order_id, invoice, account_ref, prepared.priced.lines)
    await outcomes.store_invoice_ref(deps.sessions, invoice.id, ref)
    return ref


async def complete(
    deps: OrderDeps,
    principal: Principal,
    attributed: audit.Attribution,
    request: OrderRequest,
    order_id: int,
    prepared: Prepared,
    payment: PaymentRecord | None,
) -> None:
    async with unit_of_work(deps.sessions) as session:
        order = await _order(session, order_id)
        if order.status is not OrderStatus.PENDING or settlement.settling_error(order):
            # Another executor finished it, or is giving its money back: never apply it.
            await commerce.release_lease(session, request.lease_resource, order_id)
            return
        invoice = prepared.invoice and await session.get(Invoice, prepared.invoice.id)
        subscription_id = await apply_order(
            session, deps, principal, attributed, request, prepared.priced, order
        )
        if invoice is not None:
            invoice.subscription_id = subscription_id
            await outcomes.paid(session, invoice, payment, now=deps.now())
        order.subscription_id = subscription_id
        result = {"invoice_id": invoice.id if invoice else None}
        _finish(order, OrderStatus.COMPLETED, result, deps.now())
        subscription = await session.get(Subscription, subscription_id)
        assert subscription is not None
        await integration_events.emit(
            session,
            integration_events.ORDER_COMPLETED,
            subscription,
            integration_events.order_completed(order, invoice),
            now=deps.now(),
        )
        await commerce.release_lease(session, request.lease_resource, order_id)


class OutOfTime(Exception):
    """Too little of the request is left to charge and complete: pause, the caller retries."""


async def run(
    deps: OrderDeps,
    principal: Principal,
    attributed: audit.Attribution,
    request: OrderRequest,
    payload: dict[str, Any],
    order_id: int,
    *,
    may_charge: Callable[[], bool] = lambda: True,
    fails: Callable[[DomainError], bool] = lambda error: True,
) -> None:
    """The steps of a leased order, for a request and for the recovery job alike: prepare,
    charge, complete. A refusal is raised, after failing the order (never with its money)
    when `fails(error)`; a decline is raised as PaymentDeclined; `OutOfTime` (when
    `may_charge()` says no) and ProviderUnavailable leave the order as it is, for the
    caller to pause or put off."""
    try:
        prepared = await prepare(deps, principal, request, payload, order_id)
        if not may_charge():
            raise OutOfTime
        payment = await collect(deps, order_id, prepared)
    except ProviderRejected as exc:
        error = rejected(exc)
        await fail(deps, principal, attributed, request, order_id, error)
        raise error from exc
    except DomainError as error:
        if fails(error):
            await fail(deps, principal, attributed, request, order_id, error)
        raise
    if payment is not None and not charging.succeeded(payment):
        raise await decline(deps, principal, attributed, request, order_id, prepared, payment)
    await complete(deps, principal, attributed, request, order_id, prepared, payment)


async def decline(
    deps: OrderDeps,
    principal: Principal,
    attributed: audit.Attribution,
    request: OrderRequest,
    order_id: int,
    prepared: Prepared,
    payment: PaymentRecord,
) -> DomainError:
    """FAILED with the decline (its payment row kept), and like any failed order, its
    invoice voided at the provider first: nothing can be collected on it later."""
    assert prepared.invoice is not None  # only an invoice is charged
    error = PaymentDeclined(payment.failure_code or "declined", prepared.invoice.id or 0)
    await fail(deps, principal, attributed, request, order_id, error, declined=payment)
    return error


async def fail(
    deps: OrderDeps,
    principal: Principal,
    attributed: audit.Attribution,
    request: OrderRequest,
    order_id: int,
    error: DomainError,
    *,
    declined: PaymentRecord | None = None,
) -> None:
    """FAILED, and never with the customer's money: an invoiced order is voided or refunded
    at the provider first (app/services/orders/settlement.py; a `declined` payment is
    recorded as it starts). If the provider cannot be reached, the order stays PENDING
    (settling) and PROVIDER_UNAVAILABLE is raised. No order is failed for a wait
    (ORDER_IN_PROGRESS), which its client is told to retry: it gives its claim back (a
    fresh one is removed; one invoiced or with its promotion redeemed pauses, and its retry
    or the recovery job finishes it)."""
    if error.code is ErrorCode.ORDER_IN_PROGRESS:
        async with unit_of_work(deps.sessions) as session:
            await commerce.release_lease(session, request.lease_resource, order_id)
            await commerce.release_claim(session, order_id)
        raise error
    begun = await settlement.begin(deps, order_id, error, declined)
    if begun is settlement.Begun.FINISHED:
        return
    try:
        settling = begun is settlement.Begun.SETTLING
        settled = await settlement.settle(deps, order_id) if settling else None
    except ProviderError as exc:
        await pause(deps, request, order_id)
        raise UNSETTLED from exc
    async with unit_of_work(deps.sessions) as session:
        order = await _order(session, order_id)
        if order.status is not OrderStatus.PENDING:
            return
        if not settling and await orders.invoice_of_order(session, order_id) is not None:
            return  # another executor invoiced it meanwhile: that one finishes it
        redeemed = settled is not None or _redeemed_unbilled(order)  # read before _fail_in
        await _fail_in(session, deps, principal, attributed, request, order_id, error)
        if redeemed:
            await _give_back_promotion(session, request)
        if settled is not None:
            await settlement.record(session, order, settled, deps.now())


async def pause(deps: OrderDeps, request: OrderRequest, order_id: int) -> None:
    """The provider is unreachable: stay PENDING so a retry with the same key resumes."""
    async with unit_of_work(deps.sessions) as session:
        order = await _order(session, order_id)
        if order.status is OrderStatus.PENDING:
            order.processing_until = None
        await commerce.release_lease(session, request.lease_resource, order_id)


async def _fail_in(
    session: AsyncSession,
    deps: OrderDeps,
    principal: Principal,
    attributed: audit.Attribution,
    request: OrderRequest,
    order_id: int,
    error: DomainError,
) -> None:
    order = await _order(session, order_id)
    _finish(order, OrderStatus.FAILED, failure_result(error), deps.now())
    await commerce.release_lease(session, request.lease_resource, order_id)
    await audit.record(
        session,
        principal,
        "order.failed",
        ("Order", order_id),
        after={"code": error.code.value},
        attributed=attributed,
        now=deps.now(),
    )


async def _give_back_promotion(session: AsyncSession, request: OrderRequest) -> None:
    if not request.promo_code:
        return
    promotion = await commerce.find_promotion(session, request.promo_code)
    if promotion is not None and promotion.redemptions > 0:
        promotion.redemptions -= 1


def _finish(order: Order, status: OrderStatus, result: dict[str, Any], now: datetime) -> None:
    order.status, order.result = status, result
    order.completed_at, order.processing_until = now, None


async def _order(session: AsyncSession, order_id: int) -> Order:
    order = await session.get(Order, order_id, with_for_update=True)
    assert order is not None
    return order
