"""Periodic jobs: what every pass of the worker runs, in order.

A job processes one bounded batch of the work that is due at `now` and returns how many
items it handled (0: nothing due). The worker repeats rounds while any job handled
something, and sleeps when none did; so a job must leave the work it did not finish due, and
must be safe with other workers running it at the same time (claim rows FOR UPDATE SKIP
LOCKED, or under a lease, as the outbox does).

Order recovery (stalled orders finished or settled), the lifecycle jobs (renewals,
reconciliation, expiry) and the drift check are added to JOBS before the outbox, so the
messages they enqueue are carried out in the same pass.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Protocol

from app.runtime import Runtime
from app.services.drift.job import DriftJob
from app.services.lifecycle.jobs import LIFECYCLE_JOBS
from app.services.orders.recovery import OrderRecoveryJob
from app.services.worker.options import WorkerOptions
from app.services.worker.outbox import OutboxJob


class Job(Protocol):
    @property
    def name(self) -> str: ...

    async def run(self, runtime: Runtime, now: datetime) -> int: ...


JobFactory = Callable[[WorkerOptions], Job]

# Stalled orders first: an order completed now is provisioned by the same pass's outbox, and
# its subscription is in its final state before the lifecycle jobs look at it. The drift
# check before the outbox too: the re-pushes it queues go out in the same pass (it leaves
# alone a subscription with a push still to do, and checks it once that is done).
JOBS: Sequence[JobFactory] = (OrderRecoveryJob, *LIFECYCLE_JOBS, DriftJob, OutboxJob)


def build_jobs(options: WorkerOptions, factories: Sequence[JobFactory] = JOBS) -> list[Job]:
    return [factory(options) for factory in factories]
