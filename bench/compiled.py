"""`python -m bench.compiled` (`make bench-compiled`): the README dashboard document
(documents/dashboard.graphql, `first: min(N, 100)`) at N = 10, 50, 200 and 1000
subscriptions, four ways side by side, in one run:

  app        the real server, the document's text in the body (graphql-core's walk)
  compiled   the same server, the document by `documentId` (registered: schema/compiled)
  floor      graphql.execute on the pre-parsed document, same resolvers (bench.graphql_core_server)
  hand       the hand-written endpoint for this document (bench.handwritten_readme)

Before loading, one answer of each is compared byte for byte (the app's answers without
their trailing `extensions`, the rate-limit figures, which the others do not send). Prints
ops/s and server CPU per request per case, and the ratios to the hand-written endpoint;
writes bench/results/<timestamp>-<database>-compiled.txt unless --no-save.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp

from app.auth.tokens import issue_user_jwt
from app.db.engine import create_session_factory
from app.db.unit_of_work import unit_of_work
from app.domain.document_ids import document_hash, document_id
from app.services.trusted_documents import DocumentSource, register_documents
from bench import queries
from bench.database import bench_database
from bench.load import graphql_post, run_load
from bench.report import machine_info
from bench.seed import seed
from bench.servers import Server, Servers

RESULTS = Path(__file__).resolve().parent / "results"
CASES = ("app", "compiled", "floor", "hand")
MAX_FIRST = 100


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.compiled", description=__doc__)
    parser.add_argument("--sizes", default="10,50,200,1000", help="tenants' subscriptions")
    parser.add_argument("--requests", type=int, default=400, help="at most, per case and N")
    parser.add_argument("--case-seconds", type=float, default=5.0, help="at most, per case")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--database-url", default=None, help="postgresql+asyncpg://...")
    parser.add_argument("--results-dir", type=Path, default=RESULTS)
    parser.add_argument("--no-save", action="store_true")
    args = parser.parse_args(argv)
    args.sizes = sorted({int(size) for size in args.sizes.split(",") if size})
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        import uvloop

        loop_factory = uvloop.new_event_loop
    except ImportError:  # pragma: no cover
        loop_factory = None
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        return runner.run(_main(args))


async def _main(args: argparse.Namespace) -> int:
    started = datetime.now(UTC)
    machine = machine_info()
    lines = [
        f"fulfillment bench.compiled {started:%Y-%m-%d %H:%M:%S}Z  git {machine['git']}",
        f"machine: {machine['cpu_count']} CPUs ({machine['cpu_model']}), Python "
        f"{machine['python']}, load average at start {machine['loadavg_at_start']}",
        f"{args.concurrency} connections, at most {args.requests} requests or "
        f"{args.case_seconds:g}s per case; client and servers share this machine",
    ]
    print("\n".join(lines), flush=True)
    text = queries.readme_dashboard()
    async with bench_database(args.database_url) as database:
        engine = database.engine()
        try:
            async with unit_of_work(create_session_factory(engine)) as session:
                seeded = await seed(session, {f"n{size}": size for size in args.sizes})
                await register_documents(
                    session, [DocumentSource(name="dashboard", text=text)], started
                )
        finally:
            await engine.dispose()
        print(f"database: {database.kind}; seeded {sum(args.sizes)} subscriptions", flush=True)
        env = database.server_env()
        logs = database.workdir
        app = Server("app", "bench.appserver:create_app", env, logs / "app.log")
        floor = Server("floor", "bench.graphql_core_server:create_app", env, logs / "core.log")
        hand = Server("hand", "bench.handwritten_readme:create_app", env, logs / "hand.log")
        servers = Servers()
        try:
            await servers.start(app, floor, hand)
            rows = []
            for size in args.sizes:
                tenant = seeded.tenants[f"n{size}"]
                token = issue_user_jwt(
                    database.settings, tenant.owner, datetime.now(UTC), ttl=timedelta(hours=2)
                )
                rows.append(await _measure(args, size, token, text, app, floor, hand))
        finally:
            servers.stop_all()
    lines += ["", *_table(rows)]
    print("\n" + "\n".join(lines[3:]))
    if not args.no_save:
        args.results_dir.mkdir(parents=True, exist_ok=True)
        path = args.results_dir / f"{started:%Y%m%dT%H%M%SZ}-{database.kind}-compiled.txt"
        path.write_text("\n".join(lines) + "\n")
        print(f"\nresults: {path}")
    return 0 if all(row["identical"] for row in rows) else 1


async def _measure(
    args: argparse.Namespace,
    size: int,
    token: str,
    text: str,
    app: Server,
    floor: Server,
    hand: Server,
) -> dict[str, Any]:
    variables = {"first": min(size, MAX_FIRST)}
    auth = {"authorization": f"Bearer {token}"}
    by_text = {"query": text, "variables": variables}
    by_id = {"documentId": document_id(document_hash(text)), "variables": variables}
    plans: dict[str, tuple[Server, dict[str, Any]]] = {
        "app": (app, by_text),
        "compiled": (app, by_id),
        "floor": (floor, by_text),
        "hand": (hand, by_text),
    }
    answers = {}
    async with aiohttp.ClientSession() as session:
        for name, (server, body) in plans.items():
            async with session.post(f"{server.url}/graphql", json=body, headers=auth) as answer:
                raw = await answer.read()
                if answer.status != 200:
                    raise RuntimeError(f"{name}: HTTP {answer.status}: {raw[:300]!r}")
            answers[name] = _without_extensions(raw) if server is app else raw
    identical = len(set(answers.values())) == 1
    differing = [name for name in CASES if answers[name] != answers["hand"]]
    print(
        f"N={size}: answer {len(answers['hand'])} bytes; byte-for-byte identical: {identical}"
        + (f" (differ from hand: {', '.join(differing)})" if differing else ""),
        flush=True,
    )
    stats = {}
    for name, (server, body) in plans.items():
        result = await run_load(
            graphql_post(f"{server.url}/graphql", auth, body),
            operations=args.requests,
            concurrency=args.concurrency,
            max_seconds=args.case_seconds,
            warmup=2 * args.concurrency,
            server_cpu=server.cpu_seconds,
        )
        stats[name] = result
        print(
            f"  {name:<9} {result.ops_per_s:7.1f} req/s  "
            f"CPU {result.server_cpu_ms_per_op or 0:6.1f} ms/req  p50 {result.p50_ms:7.1f} ms  "
            f"({result.operations} req, {result.errors} errors)",
            flush=True,
        )
        if result.first_error:
            print(f"  {'':<9} first error: {result.first_error}")
        await asyncio.sleep(0.5)
    return {"size": size, "bytes": len(answers["hand"]), "identical": identical, "stats": stats}


def _without_extensions(raw: bytes) -> bytes:
    """The app's answer without its trailing `"extensions"` member (orjson keeps the order:
    data, errors, then extensions)."""
    cut = raw.rfind(b',"extensions":')
    return raw if cut < 0 else raw[:cut] + b"}"


def _table(rows: list[dict[str, Any]]) -> list[str]:
    lines = [
        "README dashboard document, first = min(N, 100): requests/s (server CPU ms/request)",
        f"{'N':>5}  {'app':>14}  {'compiled':>14}  {'floor':>14}  {'hand':>14}  "
        "app/hand  floor/hand  compiled/hand  compiled/app  identical",
    ]
    for row in rows:
        s = row["stats"]

        def cell(name: str, s: dict[str, Any] = s) -> str:
            return f"{s[name].ops_per_s:6.1f} ({s[name].server_cpu_ms_per_op or 0:5.1f})"

        def ratio(a: str, b: str, s: dict[str, Any] = s) -> str:
            return f"x{s[a].ops_per_s / s[b].ops_per_s:.2f}" if s[b].ops_per_s else "-"

        lines.append(
            f"{row['size']:>5}  {cell('app')}  {cell('compiled')}  {cell('floor')}  "
            f"{cell('hand')}  {ratio('app', 'hand'):>8}  {ratio('floor', 'hand'):>10}  "
            f"{ratio('compiled', 'hand'):>13}  {ratio('compiled', 'app'):>12}  "
            f"{row['identical']}"
        )
    lines.append(
        "ratios are of throughput (requests/s); CPU/request is the server process's own "
        "(from /proc), which other load on the machine disturbs least"
    )
    return lines


if __name__ == "__main__":
    with contextlib.suppress(BrokenPipeError):
        started = time.perf_counter()
        code = main()
        print(f"({time.perf_counter() - started:.0f}s)")
        sys.exit(code)
