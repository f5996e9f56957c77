"""`python -m bench.profile_dashboard`: where the time of one dashboard request goes.

Seeds a bench database like `bench.run` does, builds the real app in this process and
calls it as an ASGI app directly (no HTTP client, no server: what uvicorn would call),
warms it up, then profiles --requests sequential dashboard requests with cProfile
(standard library; default) or pyinstrument (`--profiler pyinstrument`, if installed).
Prints the report and, unless --no-save, writes bench/results/<timestamp>-<db>-profile.txt.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import pstats
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from app.auth.tokens import issue_user_jwt
from app.db.engine import create_session_factory
from app.main import create_app
from app.runtime import build_runtime
from bench import queries
from bench.database import bench_database
from bench.report import machine_info
from bench.run import RESULTS, seed_database

PROJECT = ("/app/", "/schema/", "/resolvers/", "/bench/")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.profile_dashboard", description=__doc__)
    parser.add_argument("--subscriptions", type=int, default=50)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument(
        "--query",
        choices=("dashboard", "small"),
        default="dashboard",
        help="the dashboard (default) or the one-object query, to see the fixed cost per request",
    )
    parser.add_argument("--database-url", default=None)
    parser.add_argument(
        "--environment", choices=("production", "development"), default="production"
    )
    parser.add_argument("--profiler", choices=("cprofile", "pyinstrument"), default="cprofile")
    parser.add_argument("--top", type=int, default=40, help="rows per cProfile listing")
    parser.add_argument("--results-dir", type=Path, default=RESULTS)
    parser.add_argument("--no-save", action="store_true")
    return parser.parse_args(argv)


class AsgiCall:
    """One POST /graphql straight into the ASGI app."""

    def __init__(self, app: Any, token: str, body: dict[str, Any]) -> None:
        self.app = app
        self.body = orjson.dumps(body)
        self.scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": "/graphql",
            "raw_path": b"/graphql",
            "root_path": "",
            "query_string": b"",
            "headers": [
                (b"host", b"bench"),
                (b"content-type", b"application/json"),
                (b"content-length", str(len(self.body)).encode()),
                (b"authorization", f"Bearer {token}".encode()),
            ],
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 8000),
            "state": {},
        }

    async def __call__(self) -> tuple[int, bytes]:
        sent = False
        status = 0
        chunks: list[bytes] = []

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if sent:
                await asyncio.sleep(3600)
            sent = True
            return {"type": "http.request", "body": self.body, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(dict(self.scope), receive, send)
        return status, b"".join(chunks)


async def _main(args: argparse.Namespace) -> int:
    async with bench_database(args.database_url, args.environment) as database:
        seeded = await seed_database(database, {"main": args.subscriptions, "other": 5})
        engine = database.engine()
        runtime = build_runtime(database.settings, sessions=create_session_factory(engine))
        try:
            app = create_app(runtime=runtime)
            now = datetime.now(UTC)
            token = issue_user_jwt(
                database.settings, seeded.tenants["main"].owner, now, ttl=timedelta(hours=1)
            )
            text = queries.DASHBOARD
            if args.query == "small":
                text = queries.small(seeded.tenants["main"].subscription_numbers[0])
            call = AsgiCall(app, token, {"query": text})
            for _ in range(20):
                status, raw = await call()
                if status != 200 or b'"errors"' in raw:
                    raise SystemExit(f"{args.query} failed: {status} {raw[:300]!r}")
            report = await _profile(args, call)
        finally:
            await runtime.providers.aclose()
            await engine.dispose()
    header = [
        f"{args.query} profile, N={args.subscriptions}, {database.kind}, {args.requests} requests "
        f"in-process (ASGI app called directly), {args.profiler}",
        f"machine: {machine_info()['cpu_model']}, git {machine_info()['git']}",
        "",
    ]
    text = "\n".join(header) + report
    print(text)
    if not args.no_save:
        args.results_dir.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        path = args.results_dir / f"{stamp}-{database.kind}-profile-{args.query}.txt"
        path.write_text(text + "\n")
        print(f"\nprofile: {path}")
    return 0


async def _profile(args: argparse.Namespace, call: AsgiCall) -> str:
    if args.profiler == "pyinstrument":
        return await _pyinstrument(args, call)
    profile = cProfile.Profile()
    began = time.perf_counter()
    profile.enable()
    for _ in range(args.requests):
        await call()
    profile.disable()
    elapsed = time.perf_counter() - began
    plain_began = time.perf_counter()
    for _ in range(args.requests):
        await call()
    plain = (time.perf_counter() - plain_began) / args.requests * 1000
    out = io.StringIO()
    out.write(
        f"{plain:.2f} ms per request unprofiled, {elapsed / args.requests * 1000:.2f} ms "
        "under cProfile; times below are totals over all profiled requests\n"
    )
    stats = pstats.Stats(profile, stream=out)
    stats.sort_stats("tottime")
    out.write(f"\n=== top {args.top} functions by own time (tottime) ===\n")
    stats.print_stats(args.top)
    stats.sort_stats("cumulative")
    out.write(f"\n=== top {args.top} project functions by cumulative time ===\n")
    stats.print_stats("|".join(p.strip("/") + "/" for p in PROJECT), args.top)
    return out.getvalue()


# Where self time is spent, by the file a sampled frame belongs to (first match wins).
COMPONENTS = (
    ("graphql-core execution", ("/graphql/",)),
    ("strawberry (resolver wrapping, view)", ("/strawberry/",)),
    ("SQLAlchemy + SQLModel (ORM, rows)", ("/sqlalchemy/", "/sqlmodel/")),
    ("DB driver (aiosqlite/asyncpg/sqlite3)", ("/aiosqlite/", "/asyncpg/", "/sqlite3/")),
    ("asyncio + greenlet", ("/asyncio/", "/greenlet/", "uvloop")),
    ("starlette + ASGI middleware", ("/starlette/", "/app/http/")),
    ("schema/ (types, from_row, Money)", ("/schema/",)),
    ("resolvers/ (loaders, context)", ("/resolvers/",)),
    ("app/domain (money, seats, rules)", ("/app/domain/",)),
    ("app/db + app/auth", ("/app/db/", "/app/auth/")),
    ("JSON encoding", ("/json/",)),
    ("pydantic / jwt", ("/pydantic", "/jwt/")),
)


def _component(path: str | None, inherited: str) -> str:
    if not path or path.startswith("<"):
        return inherited
    for name, markers in COMPONENTS:
        if any(marker in path for marker in markers):
            return name
    if "/bench/" in path:
        return "bench harness (ASGI call)"
    if "/lib/python3" in path and "site-packages" not in path:
        return "Python stdlib (enum, dataclasses, base64, ...)"
    return "other"


async def _pyinstrument(args: argparse.Namespace, call: AsgiCall) -> str:
    try:
        from pyinstrument import Profiler
        from pyinstrument.renderers import ConsoleRenderer
    except ImportError:
        raise SystemExit("pyinstrument is not installed: pip install pyinstrument") from None
    profiler = Profiler(interval=0.0005, async_mode="disabled")
    began = time.perf_counter()
    profiler.start()
    for _ in range(args.requests):
        await call()
    session = profiler.stop()
    elapsed = time.perf_counter() - began
    totals: dict[str, float] = {}
    functions: dict[str, float] = {}

    def walk(frame: Any, inherited: str, owner: str) -> None:
        """Synthetic frames ([self], [await]) count for the frame they hang off."""
        name = _component(frame.file_path, inherited)
        if not frame.is_synthetic and frame.file_path:
            owner = f"{frame.function}  {frame.file_path_short}:{frame.line_no}"
        totals[name] = totals.get(name, 0.0) + frame.total_self_time
        functions[owner] = functions.get(owner, 0.0) + frame.total_self_time
        for child in frame.children:
            walk(child, name, owner)

    root = session.root_frame()
    walk(root, "other", "(thread)")
    whole = sum(totals.values()) or 1.0
    out = io.StringIO()
    out.write(
        f"{elapsed / args.requests * 1000:.2f} ms per request under the profiler (wall; "
        f"{session.cpu_time / args.requests * 1000:.2f} ms CPU)\n\n"
        "=== self time by component (share of all samples) ===\n"
    )
    for name, seconds in sorted(totals.items(), key=lambda item: -item[1]):
        out.write(f"{100 * seconds / whole:6.1f}%  {name}\n")
    out.write(f"\n=== top {args.top} frames by self time ===\n")
    for owner, seconds in sorted(functions.items(), key=lambda item: -item[1])[: args.top]:
        out.write(f"{100 * seconds / whole:6.1f}%  {owner}\n")
    tree = ConsoleRenderer(time="percent_of_total", short_mode=True).render(session)
    out.write("\n=== call tree (library frames folded) ===\n" + tree)
    return out.getvalue()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        return asyncio.run(_main(args))
    except KeyboardInterrupt:
        print("\ninterrupted: bench database removed", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
