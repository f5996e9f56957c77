"""The test clock: an admin moves time forward outside production, and everything that
falls due on the way happens, as Stripe's test clocks do.

The clock moves one UTC midnight at a time and the worker's jobs run to completion at each
stop, so a year of renewals, reconciliations and expiries happens in the order it would in
real time. Jobs run in this process: a `fulfillment worker` in another process keeps its own
clock and is not moved.

A call stops at the first stop after its time budget (well under the request limit) and says
how far it got (`reached_target`); the client calls again. Each stop's jobs commit as they
go, and the audit row records the span actually applied, also when the request is cancelled
in the middle of a stop.

A billing provider with test clocks of its own (Stripe's, app/services/billing/clocks.py) has
them moved to where the walk stopped, once per call after the walk; one that did not get there
makes `reached_target` false and is named in `billing_clocks_behind`."""

from __future__ import annotations

import asyncio
import time as timer
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta

from app.auth.principals import Principal
from app.clock import AdjustableClock
from app.db.unit_of_work import unit_of_work
from app.domain.errors import DomainError, ErrorCode
from app.runtime import Runtime
from app.services import audit
from app.services.billing import clocks
from app.services.worker.jobs import Job
from app.services.worker.runner import Worker

MAX_ADVANCE = timedelta(days=3 * 366)
_ADVANCING = asyncio.Lock()  # one advance at a time per process


@dataclass
class Advanced:
    previous: datetime
    now: datetime
    stops: int = 0
    handled: dict[str, int] = field(default_factory=dict)
    reached_target: bool = False
    # The billing provider's test clocks that are not at `now` (ids; clocks.UNREACHABLE).
    billing_clocks_behind: tuple[str, ...] = ()


async def advance(
    runtime: Runtime,
    principal: Principal,
    to: datetime,
    attributed: audit.Attribution,
    jobs: Sequence[Job] | None = None,  # the worker's, unless told
) -> Advanced:
    clock = _adjustable(runtime)
    async with _ADVANCING:
        result = Advanced(previous=clock.now(), now=clock.now())
        _check_target(result.previous, to)
        try:
            await _walk(Worker(runtime, jobs=jobs), clock, to, result)
            if result.stops:
                moved = await clocks.advance(runtime.providers.billing, clock.now())
                result.billing_clocks_behind = moved.behind
        finally:
            result.now = clock.now()
            result.reached_target = result.now >= to and not result.billing_clocks_behind
            if result.stops:
                await asyncio.shield(_record(runtime, principal, result, attributed))
        return result


async def _walk(worker: Worker, clock: AdjustableClock, to: datetime, result: Advanced) -> None:
    """Stop by stop until `to`, or until the budget is spent (always one stop at least)."""
    deadline = timer.monotonic() + budget_seconds(worker.runtime)
    while clock.now() < to:
        clock.advance(_next_stop(clock.now(), to) - clock.now())
        result.stops += 1
        for name, count in (await worker.run_once()).items():
            result.handled[name] = result.handled.get(name, 0) + count
        if timer.monotonic() >= deadline:
            return


def budget_seconds(runtime: Runtime) -> float:
    settings = runtime.settings
    return min(settings.test_clock_budget_seconds, settings.request_timeout_seconds / 2)


async def _record(
    runtime: Runtime, principal: Principal, result: Advanced, attributed: audit.Attribution
) -> None:
    async with unit_of_work(runtime.sessions) as session:
        await audit.record(
            session,
            principal,
            "test_clock.advanced",
            ("TestClock", "runtime"),
            before={"now": result.previous.isoformat()},
            after={"now": result.now.isoformat()},
            attributed=attributed,
            now=result.now,
        )


def _adjustable(runtime: Runtime) -> AdjustableClock:
    clock = runtime.clock
    if runtime.settings.is_production or not isinstance(clock, AdjustableClock):
        raise DomainError(
            ErrorCode.TEST_CLOCK_DISABLED,
            "The test clock is off; start a non-production server with TEST_CLOCK=true.",
        )
    return clock


def _check_target(now: datetime, to: datetime) -> None:
    if to.tzinfo is None:
        raise DomainError(ErrorCode.VALIDATION, "Give the time with its UTC offset.")
    if to <= now:
        raise DomainError(ErrorCode.VALIDATION, "The test clock only moves forward.")
    if to - now > MAX_ADVANCE:
        raise DomainError(ErrorCode.VALIDATION, "Move the test clock at most three years at once.")


def _next_stop(now: datetime, to: datetime) -> datetime:
    """The next UTC midnight after `now`, or `to` if that comes first."""
    now = now.astimezone(UTC)
    midnight = datetime.combine(now.date() + timedelta(days=1), time(), tzinfo=UTC)
    return min(midnight, to)
