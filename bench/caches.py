"""What a repeated small query still pays, against the same query with cold caches.

Measured in this process (CPU time of this process, `time.process_time`), on the bench
database, with the small query `subscription(number:) { number seats }`:

- `warm`: the same text again and again, through the real ASGI app (HTTP parsing, auth,
  limits, SQL, JSON): every cache hits.
- `new_text`: a text the process has not seen (a new alias) every time: parse, validation and
  the cost walk run; the SQL statements, the catalog and auth are as warm as in `warm`.
- `fresh_app`: the first request of a freshly built app on a new engine and runtime: the
  parser, validation and cost caches, SQLAlchemy's compiled-statement cache (per engine) and
  the catalog cache are all empty (module-level work done once per process, imports and
  schema building, is not in it: the app is built before the clock starts).
- `layer_warm` / `layer_new_text`: the GraphQL layer alone, `schema.execute` of
  `{ viewer { kind name } }` (no I/O) with the same text / a new text each time.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

from app.db.engine import create_session_factory
from app.main import create_app
from app.runtime import build_runtime
from bench import queries
from bench.database import BenchDatabase
from schema.build import build_schema
from schema.edge import EdgeContext


async def _cpu_ms(run: Callable[[int], Awaitable[Any]], count: int) -> float:
    began = time.process_time()
    for index in range(count):
        await run(index)
    return (time.process_time() - began) / count * 1000


async def _checked(call: Any) -> None:
    status, raw = await call()
    if status != 200 or b'"errors"' in raw:
        raise RuntimeError(f"small query failed: {status} {raw[:300]!r}")


async def measure_caches(
    database: BenchDatabase, token: str, number: str, *, requests: int = 300, fresh: int = 5
) -> dict[str, Any]:
    from bench.profile_dashboard import AsgiCall  # it imports bench.run, which imports this

    engine = database.engine()
    runtime = build_runtime(database.settings, sessions=create_session_factory(engine))
    try:
        app = create_app(runtime=runtime)
        same = AsgiCall(app, token, {"query": queries.small(number)})
        for _ in range(20):
            await _checked(same)
        for index in range(20):
            await _checked(AsgiCall(app, token, {"query": queries.small(number, f"w{index}")}))

        async def warm(_: int) -> None:
            await _checked(same)

        async def new_text(index: int) -> None:
            await _checked(AsgiCall(app, token, {"query": queries.small(number, f"n{index}")}))

        found = {
            "warm": await _cpu_ms(warm, requests),
            "new_text": await _cpu_ms(new_text, requests),
            "fresh_app": await _fresh_app(database, token, number, fresh),
        }
        found.update(await _layer(runtime, requests * 3))
    finally:
        await runtime.providers.aclose()
        await engine.dispose()
    result = {key: round(value, 3) for key, value in found.items()}
    result["ratios"] = {
        "warm_vs_new_text": round(found["warm"] / found["new_text"], 3),
        "warm_vs_fresh_app": round(found["warm"] / found["fresh_app"], 3),
        "layer_warm_vs_new_text": round(found["layer_warm"] / found["layer_new_text"], 3),
    }
    return result


async def _fresh_app(database: BenchDatabase, token: str, number: str, times: int) -> float:
    """CPU ms of the first request of a new app on a new engine (median of `times`)."""
    from bench.profile_dashboard import AsgiCall

    spent = []
    for attempt in range(times):
        engine = database.engine()
        runtime = build_runtime(database.settings, sessions=create_session_factory(engine))
        try:
            app = create_app(runtime=runtime)
            call = AsgiCall(app, token, {"query": queries.small(number, f"fresh{attempt}")})
            began = time.process_time()
            await _checked(call)
            spent.append((time.process_time() - began) * 1000)
        finally:
            await runtime.providers.aclose()
            await engine.dispose()
    return statistics.median(spent)


async def _layer(runtime: Any, count: int) -> dict[str, float]:
    from app.auth.principals import ANONYMOUS

    schema = build_schema(runtime.settings)

    async def run(text: str) -> None:
        result = await schema.execute(text, context_value=EdgeContext(runtime, ANONYMOUS))
        if result.errors:
            raise RuntimeError(f"layer query failed: {result.errors}")

    for index in range(50):
        await run("{ viewer { kind name } }")
        await run(f"{{ l{index}: viewer {{ kind name }} }}")
    return {
        "layer_warm": await _cpu_ms(lambda _: run("{ viewer { kind name } }"), count),
        "layer_new_text": await _cpu_ms(
            lambda index: run(f"{{ c{index}: viewer {{ kind name }} }}"), count
        ),
    }


def cache_lines(found: dict[str, Any]) -> list[str]:
    ratios = found["ratios"]
    return [
        "repeated small query vs cold caches (in-process, CPU ms per request):",
        f"  warm (same text)              {found['warm']:8.3f}",
        f"  new text (parse+validate+cost) {found['new_text']:7.3f}   warm/new_text "
        f"x{ratios['warm_vs_new_text']}",
        f"  fresh app (all caches empty)  {found['fresh_app']:8.3f}   warm/fresh_app "
        f"x{ratios['warm_vs_fresh_app']}",
        f"  GraphQL layer only: warm {found['layer_warm']:.3f}, new text "
        f"{found['layer_new_text']:.3f}   x{ratios['layer_warm_vs_new_text']}",
    ]
