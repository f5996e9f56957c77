"""`fulfillment worker --metrics-port`: the worker's own registry over plain HTTP, and the
job runs a worker round records in its runtime's metrics."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.clock import FixedClock
from app.config import Settings
from app.observability.metrics import Metrics
from app.observability.worker_metrics import served_metrics
from app.runtime import Runtime, build_runtime
from app.services.worker.runner import Worker
from tests.support.metrics import parse

RUNS = "fulfillment_job_runs_total"


class _Job:
    def __init__(self, name: str, results: list[int | Exception]) -> None:
        self.name = name
        self.results = results

    async def run(self, runtime: Runtime, now: datetime) -> int:
        result = self.results.pop(0)
        if isinstance(result, Exception):
            raise result
        return result


async def test_a_round_counts_each_jobs_run_by_outcome(
    settings: Settings, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    clock = FixedClock(datetime(2026, 6, 1, 12, tzinfo=UTC))
    runtime = build_runtime(settings, sessions=session_factory, clock=clock)
    jobs = [_Job("busy", [3, 0]), _Job("broken", [RuntimeError("boom"), 0])]
    worker = Worker(runtime, jobs=jobs)

    assert await worker.run_once() == {"busy": 3, "broken": 0}

    scraped = parse(runtime.metrics.render().decode())
    assert scraped.value(RUNS, job="busy", outcome="handled") == 1
    assert scraped.value(RUNS, job="busy", outcome="idle") == 1
    assert scraped.value(RUNS, job="broken", outcome="error") == 1
    assert scraped.value(RUNS, job="broken", outcome="idle") == 1
    assert scraped.value("fulfillment_job_items_total", job="busy") == 3
    assert scraped.value("fulfillment_job_duration_seconds_count", job="broken") == 2
    assert worker.errors == 1
    await runtime.aclose()


async def test_the_worker_serves_its_metrics_while_it_runs() -> None:
    metrics = Metrics()
    metrics.observe_job("outbox", 2, 0.01)

    with served_metrics(metrics, "127.0.0.1", 0) as port:
        async with httpx.AsyncClient(timeout=5) as client:
            response = await client.get(f"http://127.0.0.1:{port}/metrics")

    assert response.status_code == 200
    scraped = parse(response.text)
    assert scraped.value(RUNS, job="outbox", outcome="handled") == 1
    assert scraped.value("fulfillment_job_items_total", job="outbox") == 2
