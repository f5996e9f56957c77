"""`python -m bench.run`: seed a database, start the servers, load them, report.

1. A fresh database from the migrations (SQLite in a temp dir, or a `bench_<pid>` schema
   on PostgreSQL with --database-url), seeded by bench/seed.py: the dashboard tenant with
   --subscriptions subscriptions, tenants of 10/50/200 for the statement counts, a tenant
   for orders, and two small ones (scoping).
2. Three uvicorn servers (uvloop, httptools, one worker each): the real app, the
   hand-written endpoint (bench/handwritten.py) and the graphql-core floor
   (bench/graphql_core_server.py); each must answer /readyz.
3. From this process, over loopback: each case runs --requests operations at most (and
   --case-seconds at most) with --concurrency connections, after a short warm-up.
4. SQL statements per request are counted in-process (same apps, httpx, an engine event).
5. Prints the table and ratios; writes bench/results/<timestamp>-<database>.json and .txt.
Everything started is stopped and the database removed, on errors and Ctrl-C too.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import orjson

from app.auth.tokens import issue_user_jwt
from app.db.engine import create_session_factory
from app.db.unit_of_work import unit_of_work
from bench import queries
from bench.caches import cache_lines, measure_caches
from bench.database import BenchDatabase, bench_database
from bench.load import LoadError, Operation, graphql_post, run_load
from bench.report import machine_info, ratio_lines, ratios, table, write_results
from bench.seed import Seeded, seed
from bench.servers import Server, Servers
from bench.statements import InProcess, statement_summary
from resolvers.ids import to_global_id

RESULTS = Path(__file__).resolve().parent / "results"
CASES = ("dashboard", "handwritten", "graphql_core", "small", "small_cold", "quote_place")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.run",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--subscriptions",
        type=int,
        default=50,
        help="subscriptions of the dashboard tenant (default 50; max 100 shown)",
    )
    parser.add_argument(
        "--requests",
        type=int,
        default=2000,
        help="at most this many operations per case (default 2000)",
    )
    parser.add_argument(
        "--concurrency", type=int, default=8, help="concurrent connections (default 8)"
    )
    parser.add_argument(
        "--case-seconds",
        type=float,
        default=8.0,
        help="time cap per case, whichever of the two comes first (default 8)",
    )
    parser.add_argument(
        "--warmup",
        type=int,
        default=None,
        help="unmeasured operations before each case (default 2 x concurrency)",
    )
    parser.add_argument(
        "--database-url",
        default=None,
        help="postgresql+asyncpg://... to run on PostgreSQL (a bench_<pid> schema, "
        "dropped at the end); default: SQLite in a temp dir",
    )
    parser.add_argument(
        "--count-sizes",
        default="10,50,200",
        help="dashboard statement counts for these numbers of subscriptions",
    )
    parser.add_argument(
        "--cases", default=",".join(CASES), help=f"comma-separated subset of {','.join(CASES)}"
    )
    parser.add_argument(
        "--environment",
        choices=("production", "development"),
        default="production",
        help="the servers' ENVIRONMENT (default production: GraphiQL off, production limits)",
    )
    parser.add_argument("--results-dir", type=Path, default=RESULTS)
    parser.add_argument("--no-save", action="store_true", help="print only, write no files")
    args = parser.parse_args(argv)
    args.count_sizes = sorted({int(size) for size in args.count_sizes.split(",") if size})
    args.cases = [case for case in args.cases.split(",") if case]
    unknown = set(args.cases) - set(CASES)
    if unknown:
        parser.error(f"unknown cases: {', '.join(sorted(unknown))}")
    if args.warmup is None:
        args.warmup = 2 * args.concurrency
    if args.subscriptions < 1 or args.requests < 1 or args.concurrency < 1:
        parser.error("--subscriptions, --requests and --concurrency must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        import uvloop

        loop_factory = uvloop.new_event_loop
    except ImportError:  # pragma: no cover
        loop_factory = None
    try:
        with asyncio.Runner(loop_factory=loop_factory) as runner:
            return runner.run(_main(args))
    except (KeyboardInterrupt, asyncio.CancelledError):
        print("\ninterrupted: servers stopped, bench database removed", file=sys.stderr)
        return 130


async def _main(args: argparse.Namespace) -> int:
    task = asyncio.current_task()
    assert task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)

    started = datetime.now(UTC)
    machine = machine_info()
    print(f"fulfillment bench  {started:%Y-%m-%d %H:%M:%S}Z  git {machine['git']}")
    print(
        f"  {machine['cpu_count']} CPUs ({machine['cpu_model']}), {machine['platform']}, "
        f"Python {machine['python']}"
    )
    load = machine["loadavg_at_start"]
    if load and load[0] > 0.5:
        print(f"  warning: the machine is busy (load average {load[0]}): expect noisy numbers")
    print(
        f"  N={args.subscriptions}, up to {args.requests} ops or {args.case_seconds:g}s per "
        f"case, {args.concurrency} connections; client and servers share this machine"
    )

    async with bench_database(args.database_url, args.environment) as database:
        sizes = tenant_sizes(args)
        began = time.perf_counter()
        seeded = await seed_database(database, sizes)
        seed_seconds = time.perf_counter() - began
        where = database.schema or database.settings.database_url
        print(
            f"  database: {database.kind} ({where}); seeded {sum(sizes.values())} "
            f"subscriptions, {sum(seeded.rows.values())} rows in {seed_seconds:.1f}s"
        )

        servers = Servers()
        try:
            result = await run_bench(args, database, seeded, servers)
        finally:
            servers.stop_all()
    machine["loadavg_at_end"] = [round(value, 2) for value in os.getloadavg()]
    result.update(
        started_at=started.isoformat(),
        seconds=round((datetime.now(UTC) - started).total_seconds(), 1),
        machine=machine,
        seed={"tenants": sizes, "rows": seeded.rows, "seconds": round(seed_seconds, 2)},
    )
    summary = summary_lines(args, database, result)
    print()
    print("\n".join(summary[1:]))
    if not args.no_save:
        stem = f"{started:%Y%m%dT%H%M%SZ}-{database.kind}"
        path = write_results(args.results_dir, stem, result, summary)
        print(f"\nresults: {path} (+ .txt)")
    failed = [name for name, case in result["cases"].items() if case.get("stats", {}).get("errors")]
    return 1 if failed else 0


def tenant_sizes(args: argparse.Namespace) -> dict[str, int]:
    sizes = {"main": args.subscriptions, "orders": args.concurrency + 1, "other_a": 5, "other_b": 5}
    for size in args.count_sizes:
        if size != args.subscriptions:
            sizes[f"n{size}"] = size
    return sizes


def tenant_for_size(args: argparse.Namespace, size: int) -> str:
    return "main" if size == args.subscriptions else f"n{size}"


async def seed_database(database: BenchDatabase, sizes: dict[str, int]) -> Seeded:
    engine = database.engine()
    try:
        async with unit_of_work(create_session_factory(engine)) as session:
            return await seed(session, sizes)
    finally:
        await engine.dispose()


async def run_bench(
    args: argparse.Namespace, database: BenchDatabase, seeded: Seeded, servers: Servers
) -> dict[str, Any]:
    env = database.server_env()
    logs = database.workdir
    app = Server("app", "bench.appserver:create_app", env, logs / "app.log")
    hand = Server("handwritten", "bench.handwritten:create_app", env, logs / "handwritten.log")
    core = Server("graphql_core", "bench.graphql_core_server:create_app", env, logs / "core.log")
    began = time.perf_counter()
    await servers.start(app, hand, core)
    print(
        f"  servers ready in {time.perf_counter() - began:.1f}s: app {app.url}, "
        f"handwritten {hand.url}, graphql_core {core.url}"
    )

    now = datetime.now(UTC)
    tokens = {
        key: issue_user_jwt(database.settings, tenant.owner, now, ttl=timedelta(hours=2))
        for key, tenant in seeded.tenants.items()
    }
    counts = await count_statements(args, database, seeded, tokens)
    print(f"  dashboard SQL statements by N: {counts['dashboard_by_n']}")
    if counts.get("quote_place_error"):
        print(f"  note: quote_place skipped, the order flow failed: {counts['quote_place_error']}")

    main = seeded.tenants["main"]
    auth = {"authorization": f"Bearer {tokens['main']}"}
    dashboard = {"query": queries.DASHBOARD}
    shape = await verify_same_json(app, hand, core, auth, dashboard)
    print(f"  {shape_line(shape)}")

    number = main.subscription_numbers[0]
    cold_prefix = f"c{os.getpid()}_"
    plans: dict[str, tuple[str, Server, Operation, int, dict[str, Any]]] = {
        "dashboard": (
            "app /graphql, dashboard query",
            app,
            graphql_post(f"{app.url}/graphql", auth, dashboard),
            args.warmup,
            {},
        ),
        "handwritten": (
            "hand-written Starlette + Core + orjson",
            hand,
            graphql_post(f"{hand.url}/graphql", auth, dashboard),
            args.warmup,
            {},
        ),
        "graphql_core": (
            "graphql.execute, pre-parsed/validated",
            core,
            graphql_post(f"{core.url}/graphql", auth, dashboard),
            args.warmup,
            {},
        ),
        "small": (
            "subscription(number:) { number seats }, same text",
            app,
            graphql_post(f"{app.url}/graphql", auth, {"query": queries.small(number)}),
            args.warmup,
            {},
        ),
        "small_cold": (
            "same, a new query text each time",
            app,
            graphql_post(
                f"{app.url}/graphql",
                auth,
                lambda i: {"query": queries.small(number, f"{cold_prefix}{i}")},
            ),
            0,
            {},
        ),
    }
    if counts.get("quote_place_error") is None:
        plans["quote_place"] = (
            "orderQuote addSeats + orderPlace (1 op = 2 requests)",
            app,
            quote_place(app.url, tokens["orders"], seeded.tenants["orders"].subscription_ids[:-1]),
            args.concurrency,
            {"operations": max(1, args.requests // 4)},
        )

    statements = {
        "dashboard": counts["dashboard_by_n"].get(args.subscriptions),
        "handwritten": counts.get("handwritten"),
        "graphql_core": counts.get("graphql_core"),
        "small": counts.get("small"),
        "small_cold": counts.get("small_cold"),
        "quote_place": counts.get("quote_place"),
    }
    cases: dict[str, dict[str, Any]] = {}
    print()
    for name in args.cases:
        if name not in plans:
            cases[name] = {"skipped": counts.get("quote_place_error", "not available")}
            print(f"  {name:<13} skipped")
            continue
        what, server, operation, warmup, overrides = plans[name]
        stats = await run_load(
            operation,
            operations=overrides.get("operations", args.requests),
            concurrency=args.concurrency,
            max_seconds=args.case_seconds,
            warmup=warmup,
            server_cpu=server.cpu_seconds,
        )
        cases[name] = {"what": what, "statements": statements[name], "stats": stats.as_dict()}
        print(
            f"  {name:<13} {stats.ops_per_s:8.1f} ops/s  p50 {stats.p50_ms:7.2f} ms  "
            f"p99 {stats.p99_ms:7.2f} ms  ({stats.operations} ops, {stats.errors} errors)"
        )
        if stats.first_error:
            print(f"  {'':<13} first error: {stats.first_error}")
    print("  caches: repeated small query vs cold caches, in-process ...")
    caches = await measure_caches(database, tokens["main"], number)
    print("\n".join(f"  {line}" for line in cache_lines(caches)[1:]))
    return {
        "database": database.kind,
        "caches": caches,
        "config": {
            "subscriptions": args.subscriptions,
            "requests": args.requests,
            "concurrency": args.concurrency,
            "case_seconds": args.case_seconds,
            "warmup": args.warmup,
            "server": "uvicorn, 1 worker, uvloop, httptools, no access log",
            "environment": args.environment,
            "raised_limits": {
                key: value
                for key, value in database.env.items()
                if key in ("RATE_LIMIT_POINTS", "MAX_QUERY_COST")
            },
        },
        "dashboard_answer": shape,
        "statements": counts,
        "cases": cases,
        "ratios": ratios(cases),
        "notes": notes(args, database),
    }


async def count_statements(
    args: argparse.Namespace, database: BenchDatabase, seeded: Seeded, tokens: dict[str, str]
) -> dict[str, Any]:
    counts: dict[str, Any] = {"dashboard_by_n": {}}
    dashboard = {"query": queries.DASHBOARD}
    async with InProcess(database) as apps:
        for size in sorted({*args.count_sizes, args.subscriptions}):
            key = tenant_for_size(args, size)
            _, found = await apps.post("app", tokens[key], dashboard)
            counts["dashboard_by_n"][size] = len(found)
            if key == "main":
                counts["dashboard_statements"] = statement_summary(found)
        for target in ("handwritten", "graphql_core"):
            _, found = await apps.post(target, tokens["main"], dashboard)
            counts[target] = len(found)
            counts[f"{target}_statements"] = statement_summary(found)
        number = seeded.tenants["main"].subscription_numbers[0]
        _, found = await apps.post("app", tokens["main"], {"query": queries.small(number)})
        counts["small"] = len(found)
        cold = {"query": queries.small(number, "cold_count")}
        _, found = await apps.post("app", tokens["main"], cold, warm=False)
        counts["small_cold"] = len(found)
        try:
            counts.update(await count_quote_place(apps, seeded, tokens["orders"]))
        except Exception as exc:  # the order flow is still being built: report, do not fail
            counts["quote_place_error"] = f"{type(exc).__name__}: {exc}"[:300]
    return counts


async def count_quote_place(apps: InProcess, seeded: Seeded, token: str) -> dict[str, Any]:
    """One quote and one place on the orders tenant's spare subscription."""
    gid = to_global_id("Subscription", seeded.tenants["orders"].subscription_ids[-1])
    quote_body = {"query": queries.QUOTE, "variables": {"input": queries.add_seats_input(gid)}}
    answer, quote_statements = await apps.post("app", token, quote_body, warm=False)
    quote = answer["data"]["orderQuote"]
    if quote.get("__typename") != "Quote":
        raise RuntimeError(f"orderQuote answered {quote}")
    place_body = {
        "query": queries.PLACE,
        "variables": {"token": quote["token"], "key": f"count-{os.getpid()}"},
    }
    answer, place_statements = await apps.post("app", token, place_body, warm=False)
    placed = answer["data"]["orderPlace"]
    if placed.get("__typename") != "OrderPlacePayload":
        raise RuntimeError(f"orderPlace answered {placed}")
    return {
        "quote_place": f"{len(quote_statements)}+{len(place_statements)}",
        "quote": len(quote_statements),
        "place": len(place_statements),
    }


def quote_place(base_url: str, token: str, subscription_ids: tuple[int, ...]) -> Operation:
    """Each worker orders on its own subscription (no lease contention between workers)."""
    headers = {"authorization": f"Bearer {token}", "content-type": "application/json"}
    url = f"{base_url}/graphql"
    run_id = f"{os.getpid()}-{time.time_ns()}"

    async def post(session: aiohttp.ClientSession, body: dict[str, Any]) -> dict[str, Any]:
        async with session.post(url, data=orjson.dumps(body), headers=headers) as response:
            raw = await response.read()
            if response.status != 200:
                raise LoadError(f"HTTP {response.status}: {raw[:200]!r}")
        answer: dict[str, Any] = orjson.loads(raw)
        if answer.get("errors"):
            raise LoadError(f"GraphQL errors: {str(answer['errors'])[:200]}")
        return answer

    async def operation(session: aiohttp.ClientSession, index: int, worker: int) -> int:
        gid = to_global_id("Subscription", subscription_ids[worker % len(subscription_ids)])
        body = {"query": queries.QUOTE, "variables": {"input": queries.add_seats_input(gid)}}
        quote = (await post(session, body))["data"]["orderQuote"]
        if quote.get("__typename") != "Quote":
            raise LoadError(f"orderQuote: {quote}")
        body = {
            "query": queries.PLACE,
            "variables": {"token": quote["token"], "key": f"bench-{run_id}-{index}"},
        }
        placed = (await post(session, body))["data"]["orderPlace"]
        if placed.get("__typename") != "OrderPlacePayload":
            raise LoadError(f"orderPlace: {placed}")
        return 2

    return operation


async def verify_same_json(
    app: Server, hand: Server, core: Server, headers: dict[str, str], body: dict[str, Any]
) -> dict[str, Any]:
    answers = {}
    async with aiohttp.ClientSession() as session:
        for server in (app, hand, core):
            async with session.post(
                f"{server.url}/graphql", json=body, headers=headers
            ) as response:
                raw = await response.read()
                if response.status != 200:
                    raise RuntimeError(f"{server.name}: HTTP {response.status}: {raw[:300]!r}")
                answers[server.name] = (raw, orjson.loads(raw))
    raw, answer = answers["app"]
    if answer.get("errors"):
        raise RuntimeError(f"dashboard query failed: {answer['errors']}")
    nodes = answer["data"]["subscriptions"]["nodes"]
    return {
        "bytes": len(raw),
        "subscriptions": len(nodes),
        "entities": sum(
            2 + 2 * len(n["addOns"]) + sum(1 + len(i["lines"]) for i in n["invoices"]["nodes"])
            for n in nodes
        ),
        "json_objects": _objects(answer["data"]),
        "handwritten_identical": answers["handwritten"][1]["data"] == answer["data"],
        "graphql_core_identical": answers["graphql_core"][1]["data"] == answer["data"],
        "app_also_answers": sorted(key for key in answer if key != "data"),
    }


def _objects(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + sum(_objects(v) for v in value.values())
    if isinstance(value, list):
        return sum(_objects(v) for v in value)
    return 0


def notes(args: argparse.Namespace, database: BenchDatabase) -> list[str]:
    found = [
        f"Client (aiohttp, this process) and the 3 servers share {os.cpu_count()} CPUs; "
        "only one server is loaded at a time.",
        f"Servers: ENVIRONMENT={args.environment}, default settings except the "
        "per-principal cost budget (RATE_LIMIT_POINTS), raised so that one bench user is "
        "never refused; it is still computed and spent on every request. The per-operation "
        "cost cap is the default (MAX_QUERY_COST 5000; the dashboard at first: 100 costs 1701).",
        "SQL/op on the app: the request reads in the session that authenticated the caller "
        "(one BEGIN on SQLite); the graphql_core floor authenticates in a session of its own.",
        "ops/s counts operations; quote_place is 2 requests per operation.",
        "CPU ms: user+system CPU of the server process per operation (from /proc), the "
        "figure other load on the machine disturbs least; PostgreSQL's own CPU is not in it.",
        "SQL/op: statements SQLAlchemy sent for one warm request, counted in-process "
        "(auth session included; on SQLite each session's BEGIN is a statement).",
        "small_cold sends a query text the server has not seen (a new alias) every time: "
        "parse + validate run per request; small repeats one text (cache hits).",
        "All three servers answer with orjson.",
        "caches: in-process CPU per small query, warm vs a new text vs the first request of a "
        "freshly built app and engine (bench/caches.py).",
    ]
    if max(*args.count_sizes, args.subscriptions) > 100:
        found.append("The dashboard asks for subscriptions(first: 100): N > 100 returns 100.")
    return found


def shape_line(shape: dict[str, Any]) -> str:
    return (
        f"dashboard answer {shape['bytes']} bytes, {shape['entities']} entities "
        f"({shape['json_objects']} JSON objects); same `data` from handwritten: "
        f"{shape['handwritten_identical']}, from graphql_core: {shape['graphql_core_identical']}"
        + (
            f" (the app also answers {', '.join(extra)})"
            if (extra := shape["app_also_answers"])
            else ""
        )
    )


def summary_lines(
    args: argparse.Namespace, database: BenchDatabase, result: dict[str, Any]
) -> list[str]:
    m, shape, counts = result["machine"], result["dashboard_answer"], result["statements"]
    lines = [
        "",
        f"fulfillment bench {result['started_at']}  database={database.kind}  git {m['git']}",
        f"machine: {m['cpu_count']} CPUs ({m['cpu_model']}), {m['platform']}, Python {m['python']}",
        f"load average (1/5/15 min) at start {m['loadavg_at_start']}, at end {m['loadavg_at_end']}",
        "packages: " + ", ".join(f"{k} {v}" for k, v in m["packages"].items() if v),
        f"N={args.subscriptions}: {shape_line(shape)}",
        f"{args.concurrency} connections, at most {args.requests} ops or "
        f"{args.case_seconds:g}s per case",
        "",
        *table(result["cases"]),
        "",
        "ratios (same run):",
        *ratio_lines(result["ratios"]),
        "",
        "dashboard SQL statements per request by N (subscriptions): "
        + ", ".join(f"N={n}: {c}" for n, c in sorted(counts["dashboard_by_n"].items())),
    ]
    if counts.get("quote_place_error"):
        lines.append(f"quote_place skipped: {counts['quote_place_error']}")
    if result.get("caches"):
        lines += ["", *cache_lines(result["caches"])]
    return lines


if __name__ == "__main__":
    with contextlib.suppress(BrokenPipeError):
        sys.exit(main())
