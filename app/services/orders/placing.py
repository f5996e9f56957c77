"""orderPlace: execute exactly the quoted lines, once per idempotency key.

The first request for a key claims the order (a unique row) and executes it; concurrent and
later requests with the same key wait for it and replay its result. Orders on the same
subscription take turns through a lease, so none is priced on a state another is changing.
An admin must give a reason (checked before anything is read); the reason and the request id
land on the order's audit row ("order.placed" or "order.failed"), from whichever request
executes it."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.authenticate import read_scope
from app.auth.policy import caller_for
from app.auth.principals import Principal
from app.db.lease_wait import lease_released
from app.db.repositories import commerce, orders
from app.db.tables import Invoice, Order
from app.db.unit_of_work import unit_of_work
from app.domain.enums import OrderStatus
from app.domain.errors import DomainError, ErrorCode
from app.providers.errors import ProviderUnavailable
from app.services import audit, quote_tokens
from app.services.orders import execution, first_purchase
from app.services.orders.budget import Budget, shielded
from app.services.orders.context import OrderDeps
from app.services.orders.errors import NoMembership, NotAllowed, OrderInProgress, failure_of
from app.services.orders.in_flight import ensure_not_charging
from app.services.orders.requests import OrderRequest
from app.services.orders.resume import resume_record
from app.services.orders.state import load_target
from app.services.orders.turns import MIN_RETRY_AFTER, Busy, Turn

LEASE = timedelta(seconds=60)
REPLAY_PAUSE_SECONDS = 0.02
MAX_REPLAY_PAUSE_SECONDS = 0.32
MAX_KEY_LENGTH = 128
STILL_PLACING = OrderInProgress(
    "This order is still being placed; retry with the same idempotency key.", MIN_RETRY_AFTER
)
MANAGED = DomainError(
    ErrorCode.MANAGED_BY_PARTNER,
    "This subscription is managed by your partner; contact them to change it.",
)


@dataclass(frozen=True, slots=True)
class PlacedOrder:
    order: Order
    invoice: Invoice | None
    # Who placed it, as executing it knew them: after a first purchase, the new customer's
    # owner (the request reads on with that scope).
    placer: Principal | None = None


async def place_order(
    deps: OrderDeps,
    principal: Principal,
    token: str,
    idempotency_key: str,
    *,
    reason: str | None = None,
    request_id: str | None = None,
) -> PlacedOrder:
    key = _checked_key(idempotency_key)
    attributed = audit.attribution(principal, reason, request_id)
    payload = quote_tokens.verify(token, deps.settings.quote_secret)
    request = OrderRequest.from_payload(payload)
    digest = quote_tokens.digest(token)
    if request.new_customer is None and principal.has_no_membership:
        raise NoMembership
    if request.new_customer is not None:
        opened = await first_purchase.open_customer(
            deps, principal, request, payload, key, attributed
        )
        request, payload, principal = opened.request, opened.payload, opened.principal
    async with unit_of_work(deps.sessions, write=False) as session:
        target = await load_target(session, read_scope(principal), request)
        caller = caller_for(principal, target.customer.id or 0, target.partner_id)
        if not caller.may_purchase:
            raise NotAllowed
        if caller.self_service and target.partner_managed:
            raise MANAGED
        existing = await commerce.find_order(session, request.customer_id, key)
        if existing is None:
            await ensure_not_charging(session, target.subscription)
    placed = None
    if existing is None:
        quote_tokens.check_fresh(payload, deps.now())
        claimed = await _claim(deps, principal, attributed, request, payload, digest, key)
        if claimed is not None:
            placed = await _execute(deps, principal, attributed, request, payload, claimed)
    if placed is None:
        placed = await _replay(deps, principal, attributed, request, payload, digest, key)
    return replace(placed, placer=principal)


def _checked_key(key: str) -> str:
    key = key.strip()
    if not 1 <= len(key) <= MAX_KEY_LENGTH:
        raise DomainError(
            ErrorCode.VALIDATION, f"The idempotency key must be 1-{MAX_KEY_LENGTH} characters."
        )
    return key


async def _claim(
    deps: OrderDeps,
    principal: Principal,
    attributed: audit.Attribution,
    request: OrderRequest,
    payload: dict[str, Any],
    digest: str,
    key: str,
) -> int | None:
    """Insert the order for this key; None if another request got there first."""
    try:
        async with unit_of_work(deps.sessions) as session:
            order = Order(
                customer_id=request.customer_id,
                subscription_id=request.subscription_id,
                status=OrderStatus.PENDING,
                idempotency_key=key,
                quote_digest=digest,
                actions=request.to_payload()["actions"],
                currency=payload["currency"],
                subtotal=payload["subtotal"],
                discount=payload["discount"],
                total=payload["total"],
                placed_by=principal.audit_actor,
                created_at=deps.now(),  # business time, as its audit row (the test clock)
                processing_until=deps.now() + LEASE,
                resume=resume_record(principal, request.customer_id, payload, attributed),
            )
            session.add(order)
            await session.flush()
            return order.id
    except IntegrityError:
        return None


async def _replay(
    deps: OrderDeps,
    principal: Principal,
    attributed: audit.Attribution,
    request: OrderRequest,
    payload: dict[str, Any],
    digest: str,
    key: str,
) -> PlacedOrder:
    """Wait for the order with this key to finish, then answer as it did; resume it if its
    executor went away (the provider was down, or a process died). Only requests repeating
    a key wait here, looking again after a growing pause, while the budget allows."""
    budget, pause = Budget.start(deps.settings), REPLAY_PAUSE_SECONDS
    while True:
        async with unit_of_work(deps.sessions) as session:
            order = await commerce.find_order(session, request.customer_id, key)
            if order is None:  # the first call gave up waiting for its turn: a retry claims
                raise STILL_PLACING
            if order.quote_digest != digest:
                raise DomainError(
                    ErrorCode.IDEMPOTENCY_KEY_REUSED,
                    "This idempotency key was already used for another quote.",
                )
            if order.status is not OrderStatus.PENDING:
                return await _outcome(session, order)
            resumable = order.processing_until is None or order.processing_until < deps.now()
            if resumable:
                order.processing_until = deps.now() + LEASE
        if resumable:
            return await _execute(deps, principal, attributed, request, payload, order.id or 0)
        if budget.to_wait() <= 0:
            raise STILL_PLACING
        await asyncio.sleep(min(pause, budget.to_wait()))
        pause = min(pause * 2, MAX_REPLAY_PAUSE_SECONDS)


async def _outcome(session: AsyncSession, order: Order) -> PlacedOrder:
    if order.status is OrderStatus.COMPLETED:
        return PlacedOrder(order, await orders.invoice_of_order(session, order.id or 0))
    raise failure_of(order.result or {})


async def _execute(
    deps: OrderDeps,
    principal: Principal,
    attributed: audit.Attribution,
    request: OrderRequest,
    payload: dict[str, Any],
    order_id: int,
) -> PlacedOrder:
    """Wait for the subscription's turn in this process, then for its lease, at most until
    the request must start its critical section; from the lease to the completion it runs
    shielded, so a request cut by the time limit never stops between charge and completion."""
    budget = Budget.start(deps.settings, claim_seconds=LEASE.total_seconds())
    try:
        turn = await deps.turns.take(request.lease_resource, budget.to_wait())
    except Busy as busy:
        await _give_up(deps, order_id)
        raise _in_progress(busy.retry_after) from None
    except asyncio.CancelledError:
        await asyncio.shield(_give_up(deps, order_id))
        raise
    leased = _Leased(deps, principal, attributed, request, payload, order_id, budget)
    return await shielded(leased.run(turn))


@dataclass(frozen=True, slots=True)
class _Leased:
    """One order's turn: the lease, then prepare, charge and complete (or fail)."""

    deps: OrderDeps
    principal: Principal
    attributed: audit.Attribution
    request: OrderRequest
    payload: dict[str, Any]
    order_id: int
    budget: Budget

    async def run(self, turn: Turn) -> PlacedOrder:
        try:
            if not await self._take_lease():
                await _give_up(self.deps, self.order_id)
                raise _in_progress(turn.retry_after())
            return await self._execute()
        finally:
            turn.release()

    async def _take_lease(self) -> bool:
        if await self._try_lease():
            return True
        async with lease_released(self.deps.sessions, self.request.lease_resource) as released:
            while (left := self.budget.to_wait()) > 0:
                if await self._try_lease():
                    return True
                await released.wait(left)
        return await self._try_lease()

    async def _try_lease(self) -> bool:
        async with unit_of_work(self.deps.sessions) as session:
            now = self.deps.now()
            return await commerce.acquire_lease(
                session, self.request.lease_resource, self.order_id, now, now + LEASE
            )

    async def _execute(self) -> PlacedOrder:
        deps, request, order_id = self.deps, self.request, self.order_id
        try:
            await execution.run(
                deps,
                self.principal,
                self.attributed,
                request,
                self.payload,
                order_id,
                may_charge=self.budget.may_charge,
            )
        except execution.OutOfTime:
            await execution.pause(deps, request, order_id)
            raise _in_progress(MIN_RETRY_AFTER) from None
        except ProviderUnavailable as exc:
            await execution.pause(deps, request, order_id)
            raise execution.UNSETTLED from exc
        async with unit_of_work(deps.sessions, write=False) as session:
            order = await session.get(Order, order_id)
            assert order is not None
            return await _outcome(session, order)


async def _give_up(deps: OrderDeps, order_id: int) -> None:
    async with unit_of_work(deps.sessions) as session:
        await commerce.release_claim(session, order_id)


def _in_progress(retry_after: int) -> OrderInProgress:
    return OrderInProgress(
        "Another order on this subscription is being placed; retry with the same "
        f"idempotency key in about {retry_after} s.",
        retry_after,
    )
