"""The load client: aiohttp over loopback, a bounded number of requests, a bounded number of
concurrent connections, and a time cap; latency per request, throughput over the window."""

from __future__ import annotations

import asyncio
import math
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from typing import Any

import aiohttp
import orjson

# One unit of work: (session, operation index, worker index) -> the number of HTTP requests
# it made; raises LoadError when an answer is wrong.
Operation = Callable[[aiohttp.ClientSession, int, int], Awaitable[int]]


class LoadError(Exception):
    pass


@dataclass
class Stats:
    operations: int
    requests: int
    errors: int
    seconds: float
    ops_per_s: float
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    mean_ms: float
    max_ms: float
    server_cpu_ms_per_op: float | None = None
    first_error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: round(v, 3) if isinstance(v, float) else v for k, v in asdict(self).items()}


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    if not sorted_values:
        return float("nan")
    rank = max(1, min(len(sorted_values), math.ceil(fraction * len(sorted_values))))
    return sorted_values[rank - 1]


def graphql_post(
    url: str,
    headers: dict[str, str],
    body: Callable[[int], dict[str, Any]] | dict[str, Any],
    check: Callable[[dict[str, Any]], None] | None = None,
) -> Operation:
    """POST a GraphQL body (fixed, or built from the operation's index); any status but 200,
    any `errors` in the answer, or a failed `check` is an error."""
    fixed = orjson.dumps(body) if isinstance(body, dict) else None
    all_headers = {"content-type": "application/json", **headers}

    async def operation(session: aiohttp.ClientSession, index: int, worker: int) -> int:
        data = fixed if fixed is not None else orjson.dumps(body(index))  # type: ignore[operator]
        async with session.post(url, data=data, headers=all_headers) as response:
            raw = await response.read()
            if response.status != 200:
                raise LoadError(f"HTTP {response.status}: {raw[:200]!r}")
        if b'"errors"' in raw or check is not None:
            answer = orjson.loads(raw)
            if answer.get("errors"):
                raise LoadError(f"GraphQL errors: {str(answer['errors'])[:200]}")
            if check is not None:
                check(answer)
        return 1

    return operation


async def run_load(
    operation: Operation,
    *,
    operations: int,
    concurrency: int,
    max_seconds: float,
    warmup: int = 0,
    server_cpu: Callable[[], float | None] | None = None,
) -> Stats:
    """Run `warmup` operations (unmeasured), then up to `operations` with `concurrency`
    workers until done or `max_seconds` have passed. `server_cpu` (seconds of CPU the server
    has used) gives the server's CPU per operation, which other load on the machine does not
    inflate the way it inflates latency."""
    connector = aiohttp.TCPConnector(limit=concurrency, force_close=False)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        if warmup:
            deadline = time.perf_counter() + max_seconds
            await _workers(session, operation, range(warmup), concurrency, [], [], deadline)
        latencies: list[float] = []
        errors: list[str] = []
        cpu_before = server_cpu() if server_cpu else None
        started = time.perf_counter()
        # Indices go on from the warm-up's, so operations that use them stay unique.
        indices = range(warmup, warmup + operations)
        requests = await _workers(
            session, operation, indices, concurrency, latencies, errors, started + max_seconds
        )
        elapsed = time.perf_counter() - started
        cpu_after = server_cpu() if server_cpu else None
    latencies.sort()
    done = len(latencies)
    cpu_per_op = None
    if cpu_before is not None and cpu_after is not None and done:
        cpu_per_op = (cpu_after - cpu_before) / done * 1000
    ms = [value * 1000 for value in latencies]
    return Stats(
        operations=done,
        requests=requests,
        errors=len(errors),
        seconds=elapsed,
        ops_per_s=done / elapsed if elapsed else 0.0,
        rps=requests / elapsed if elapsed else 0.0,
        p50_ms=percentile(ms, 0.50),
        p90_ms=percentile(ms, 0.90),
        p99_ms=percentile(ms, 0.99),
        mean_ms=statistics.fmean(ms) if ms else float("nan"),
        max_ms=ms[-1] if ms else float("nan"),
        server_cpu_ms_per_op=cpu_per_op,
        first_error=errors[0] if errors else None,
    )


async def _workers(
    session: aiohttp.ClientSession,
    operation: Operation,
    indices: range,
    concurrency: int,
    latencies: list[float],
    errors: list[str],
    deadline: float,
) -> int:
    requests = 0
    pending = iter(indices)

    async def worker(number: int) -> None:
        nonlocal requests
        while time.perf_counter() < deadline:
            index = next(pending, None)
            if index is None:
                return
            began = time.perf_counter()
            try:
                requests += await operation(session, index, number)
            except (TimeoutError, LoadError, aiohttp.ClientError) as exc:
                errors.append(f"{type(exc).__name__}: {exc}")
                if len(errors) >= 20:
                    return
                continue
            latencies.append(time.perf_counter() - began)

    await asyncio.gather(*(worker(number) for number in range(concurrency)))
    return requests
