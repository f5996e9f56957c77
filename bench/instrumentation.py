"""What the observability costs per call: the registry's metrics proxy around a provider
method, and the request metrics around a GraphQL request (both with traces off, as by
default). Prints the overhead; asserts nothing. `python -m bench.instrumentation`."""

from __future__ import annotations

import argparse
import asyncio
import time
from types import SimpleNamespace
from typing import Any

from app.http.metrics import RequestMetrics
from app.observability.metrics import Metrics
from app.observability.providers import instrumented


class _Provider:
    async def get_accounts(self, refs: list[str]) -> int:
        return len(refs)


async def _per_call(call: Any, rounds: int) -> float:
    started = time.perf_counter()
    for _ in range(rounds):
        await call(["acct_1"])
    return (time.perf_counter() - started) / rounds


async def _app(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"{}"})


async def _per_request(app: Any, rounds: int, metrics: Metrics) -> float:
    state = SimpleNamespace(runtime=SimpleNamespace(metrics=metrics))

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    async def send(message: Any) -> None:
        pass

    started = time.perf_counter()
    for _ in range(rounds):
        scope = {"type": "http", "app": SimpleNamespace(state=state), "state": {}}
        await app(scope, receive, send)
    return (time.perf_counter() - started) / rounds


async def main(rounds: int) -> None:
    metrics, provider = Metrics(), _Provider()
    proxied = instrumented(provider, "billing", "bench", metrics)
    await _per_call(provider.get_accounts, 1000)  # warm up
    bare = await _per_call(provider.get_accounts, rounds)
    wrapped = await _per_call(proxied.get_accounts, rounds)
    print(
        f"provider call: bare {bare * 1e6:.2f} us, through the proxy {wrapped * 1e6:.2f} us "
        f"(+{(wrapped - bare) * 1e6:.2f} us per call)"
    )
    bare = await _per_request(_app, rounds, metrics)
    counted = await _per_request(RequestMetrics(_app), rounds, metrics)
    print(
        f"request: bare ASGI {bare * 1e6:.2f} us, with request metrics {counted * 1e6:.2f} us "
        f"(+{(counted - bare) * 1e6:.2f} us per request)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=50_000)
    asyncio.run(main(parser.parse_args().rounds))
