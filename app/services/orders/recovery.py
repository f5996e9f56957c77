"""The order recovery job: every order finishes, with or without its client.

An order whose request or process died between its charge and its completion (or whose
provider was unreachable) stays PENDING. Each round claims the PENDING orders whose
executor's lease ran out (`FOR UPDATE SKIP LOCKED`; SQLite serialises claimers) and takes
each up again for its placer, from the quote it stored: under the subscription's lease it
is re-priced on the quote's date, and the billing calls are sent again with the order's own
keys, so the provider replays the invoice and the charge it already made (never a second
charge) and the order completes. If it can no longer apply (the subscription moved on, the
promotion ran out, ...) it fails, and its invoice is voided or its payment refunded
(app/services/orders/settlement.py). What cannot be decided now is left for a later round:
the provider unreachable, the subscription leased by another order or job, a renewal being
charged. After MAX_FAILURES rounds that ended in an unexpected error, it fails and is
settled (waiting for a provider or a lease is no failure: that never gives an order up).
Audit rows: `order.resumed` per attempt and `order.recovered` with the outcome, by the
service actor `order-recovery`."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.auth.principals import Principal
from app.db.repositories import commerce, orders
from app.db.tables import Order
from app.db.unit_of_work import unit_of_work
from app.domain.enums import OrderStatus
from app.domain.errors import DomainError, ErrorCode
from app.providers.errors import ProviderUnavailable
from app.runtime import Runtime
from app.services import audit
from app.services.orders import execution, resume
from app.services.orders.context import OrderDeps
from app.services.orders.placing import LEASE
from app.services.orders.requests import OrderRequest
from app.services.orders.settlement import audit_recovery
from app.services.worker.options import WorkerOptions

log = logging.getLogger("app.orders.recovery")

MAX_FAILURES = 5
GAVE_UP = DomainError(
    ErrorCode.INTERNAL, "The order could not be completed; any payment for it was given back."
)
# "Not now" rather than "never": the order is taken up again on a later round.
LATER = frozenset({ErrorCode.ORDER_IN_PROGRESS, ErrorCode.PROVIDER_UNAVAILABLE})


@dataclass(frozen=True, slots=True)
class Stalled:
    """A claimed order, with what executing it for its placer needs."""

    order_id: int
    failures: int
    principal: Principal
    attributed: audit.Attribution
    request: OrderRequest
    payload: dict[str, Any]

    @classmethod
    def of(cls, order: Order) -> Stalled:
        assert order.resume is not None
        payload = order.resume["quote"]
        return cls(
            order.id or 0,
            order.recovery_failures,
            resume.placer(order.resume, order.customer_id),
            resume.attribution(order.resume),
            OrderRequest.from_payload(payload),
            payload,
        )


class OrderRecoveryJob:
    name = "order-recovery"

    def __init__(self, options: WorkerOptions) -> None:
        self.options = options

    async def run(self, runtime: Runtime, now: datetime) -> int:
        deps = OrderDeps(
            runtime.sessions,
            runtime.providers.billing,
            runtime.clock,
            runtime.settings,
            tax=runtime.providers.tax,
        )
        claimed = await _claim(deps, now, self.options.batch_size)
        for stalled in claimed:
            try:
                await _recover(deps, stalled)
            except Exception:  # one bad order never holds up the others; tried again later
                log.exception("order %s: recovery failed", stalled.order_id)
                await _later(deps, stalled, failed=True)
        return len(claimed)


async def _claim(deps: OrderDeps, now: datetime, limit: int) -> list[Stalled]:
    async with unit_of_work(deps.sessions) as session:
        claimed = []
        for order in await orders.claim_stalled_orders(session, now, now + LEASE, limit):
            after = {"failures": order.recovery_failures}
            await audit_recovery(session, order, "order.resumed", after, now)
            claimed.append(Stalled.of(order))
        return claimed


async def _recover(deps: OrderDeps, stalled: Stalled) -> None:
    try:
        if stalled.failures >= MAX_FAILURES:
            await _fail(deps, stalled, GAVE_UP)
        elif not await _hold(deps, stalled):
            return  # finished meanwhile, or the subscription is leased: a later round
        else:
            await _execute(deps, stalled)
    except DomainError as error:
        if error.code not in LATER:
            raise
        await _later(deps, stalled)
        return
    await _recovered(deps, stalled.order_id)


async def _execute(deps: OrderDeps, stalled: Stalled) -> None:
    """The order's steps (execution.run), with the job's answers: unreachable or busy is
    for a later round; a failure or a decline is the outcome, already recorded."""
    try:
        await execution.run(
            deps,
            stalled.principal,
            stalled.attributed,
            stalled.request,
            stalled.payload,
            stalled.order_id,
            fails=lambda error: error.code not in LATER,
        )
    except ProviderUnavailable as exc:
        raise execution.UNSETTLED from exc
    except DomainError as error:
        if error.code in LATER:
            raise


async def _fail(deps: OrderDeps, stalled: Stalled, error: DomainError) -> None:
    await execution.fail(
        deps, stalled.principal, stalled.attributed, stalled.request, stalled.order_id, error
    )


async def _hold(deps: OrderDeps, stalled: Stalled) -> bool:
    """Just before executing it (earlier orders of the batch took time): the order's claim
    renewed, and the subscription's lease taken, in one try (a job never waits). False when
    the order finished meanwhile (its client's retry) or another order or job holds the
    subscription."""
    async with unit_of_work(deps.sessions) as session:
        order = await session.get(Order, stalled.order_id, with_for_update=True)
        assert order is not None
        if order.status is not OrderStatus.PENDING:
            return False
        now = deps.now()
        order.processing_until = now + LEASE
        resource = stalled.request.lease_resource
        return await commerce.acquire_lease(session, resource, stalled.order_id, now, now + LEASE)


async def _later(deps: OrderDeps, stalled: Stalled, *, failed: bool = False) -> None:
    """Leave the order to a later round: claimed for a whole lease from now (so a round does
    not take it up again at once), the subscription's lease given back."""
    async with unit_of_work(deps.sessions) as session:
        order = await session.get(Order, stalled.order_id, with_for_update=True)
        assert order is not None
        if order.status is OrderStatus.PENDING:
            order.processing_until = deps.now() + LEASE
            order.recovery_failures += 1 if failed else 0
        await commerce.release_lease(session, stalled.request.lease_resource, stalled.order_id)


async def _recovered(deps: OrderDeps, order_id: int) -> None:
    async with unit_of_work(deps.sessions) as session:
        order = await session.get(Order, order_id)
        assert order is not None
        if order.status is OrderStatus.PENDING:
            return
        after = {"status": order.status.value, "refunded": order.refunded}
        await audit_recovery(session, order, "order.recovered", after, deps.now())
