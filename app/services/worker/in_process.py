"""The worker inside the API server (WORKER_IN_PROCESS=true, development only): one process
runs requests and due jobs, which is what the test clock needs; production runs
`fulfillment worker` processes instead."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from app.runtime import Runtime
from app.services.worker.runner import Worker

INTERVAL_SECONDS = 5.0


@contextlib.asynccontextmanager
async def running_worker(runtime: Runtime) -> AsyncIterator[Worker | None]:
    """Run the worker beside the server while the context is open, if the settings ask."""
    if not runtime.settings.worker_in_process:
        yield None
        return
    worker = Worker(runtime)
    task = asyncio.create_task(worker.run_forever(INTERVAL_SECONDS), name="in-process worker")
    try:
        yield worker
    finally:
        worker.stop()
        await task
