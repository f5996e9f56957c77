"""The worker loop: rounds of every job, a sleep when nothing was due, a graceful stop.

`fulfillment worker` runs `run_worker`: until SIGINT or SIGTERM, which let the current round
(the batch in hand) finish; a second signal stops at once. `--once` runs rounds until
nothing is due (at most `max_rounds`) and exits: for cron, and tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import Sequence

from app.config import Settings
from app.observability.worker_metrics import served_metrics
from app.runtime import Runtime, build_runtime
from app.services.worker.jobs import Job, build_jobs
from app.services.worker.options import WorkerOptions

log = logging.getLogger("app.worker")


class Worker:
    def __init__(
        self,
        runtime: Runtime,
        options: WorkerOptions | None = None,
        jobs: Sequence[Job] | None = None,
    ) -> None:
        self.runtime = runtime
        self.options = options or WorkerOptions()
        self.jobs = list(jobs) if jobs is not None else build_jobs(self.options)
        self.errors = 0  # job rounds that raised
        self._stop = asyncio.Event()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def stop(self) -> None:
        """Finish the round in hand, then return from `run_once` or `run_forever`."""
        self._stop.set()

    async def run_round(self) -> dict[str, int]:
        """Each job once, at one `now`: how many items each handled (each run counted and
        timed in the runtime's metrics)."""
        now = self.runtime.clock.now()
        handled: dict[str, int] = {}
        for job in self.jobs:
            if self.stopping:
                break
            started = time.perf_counter()
            count: int | None = None
            try:
                count = await job.run(self.runtime, now)
            except Exception:
                self.errors += 1
                log.exception("job %s failed", job.name)
            handled[job.name] = count or 0
            self.runtime.metrics.observe_job(job.name, count, time.perf_counter() - started)
        return handled

    async def run_once(self) -> dict[str, int]:
        """Rounds until nothing is due (or `max_rounds`, or a stop): totals per job."""
        totals = {job.name: 0 for job in self.jobs}
        for _ in range(self.options.max_rounds):
            handled = await self.run_round()
            for name, count in handled.items():
                totals[name] += count
            if self.stopping or not any(handled.values()):
                break
        return totals

    async def run_forever(self, interval: float) -> None:
        log.info("worker %s started (interval %gs)", self.options.worker_id, interval)
        while not self.stopping:
            handled = await self.run_round()
            if any(handled.values()):
                log.info("handled %s", handled)
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), timeout=interval)
        log.info("worker %s stopped", self.options.worker_id)


async def run_worker(
    settings: Settings,
    *,
    once: bool,
    interval: float,
    options: WorkerOptions | None = None,
    metrics_address: tuple[str, int] | None = None,
) -> int:
    """The CLI's entry: build the runtime, run, close. With `once`, exit status 1 if a job
    raised (a long-running worker logs job errors and carries on). With `metrics_address`,
    the process's metrics are served there meanwhile."""
    runtime = build_runtime(settings)
    with contextlib.ExitStack() as stack:
        if metrics_address is not None:
            port = stack.enter_context(served_metrics(runtime.metrics, *metrics_address))
            log.info("metrics on http://%s:%s/metrics", metrics_address[0], port)
        return await _run(runtime, once=once, interval=interval, options=options)


async def _run(
    runtime: Runtime, *, once: bool, interval: float, options: WorkerOptions | None
) -> int:
    worker = Worker(runtime, options)
    main = asyncio.current_task()

    def on_signal() -> None:
        if worker.stopping and main is not None:
            main.cancel()  # the second signal: stop now
        else:
            log.info("stopping after the current round")
            worker.stop()

    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):  # not on Windows
            loop.add_signal_handler(signum, on_signal)
    try:
        if once:
            log.info("handled %s", await worker.run_once())
        else:
            await worker.run_forever(interval)
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.remove_signal_handler(signum)
        await runtime.aclose()
    return 1 if once and worker.errors else 0
