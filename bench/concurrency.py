"""`python -m bench.concurrency`: the README's first query (the Dashboard, with
`customer.crmAccount`) at several concurrency levels (default 1, 16, 32) against the real
app in a server process of its own, over loopback.

For each level a fresh server (uvicorn, one worker, the app's default pool and limits)
answers as many requests as it can in --seconds (at most --requests), one connection per
concurrent caller. Every answer counts: latency percentiles are over all of them (a request
that failed after 30 s waited 30 s), and each error is classified (HTTP status, error code,
where). Per request it also prints what reached the database: the statements SQLAlchemy sent
and, on PostgreSQL, every call the driver made (BEGIN/ROLLBACK and pings included), counted
in-process on the same app; and the transactions PostgreSQL itself recorded for the server
(pg_stat_database, read after the server has exited so every backend has reported).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from app.auth.tokens import issue_user_jwt
from bench.database import BenchDatabase, bench_database
from bench.driver_calls import counting_driver_calls
from bench.load import percentile
from bench.run import seed_database
from bench.servers import Server
from bench.settings import PRE_PING_ENV
from bench.statements import InProcess

README = Path(__file__).resolve().parents[1] / "README.md"
LEVELS = (1, 16, 32)


def readme_dashboard() -> str:
    """The first GraphQL block after "A first query" in the README, as a client pastes it."""
    text = README.read_text()
    found = re.search(r"A first query.*?```graphql\n(.*?)```", text, re.DOTALL)
    if found is None:
        raise RuntimeError("README.md has no `A first query` GraphQL block")
    return found.group(1)


@dataclass
class Level:
    concurrency: int
    latencies_ms: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    transactions: int | None = None  # PostgreSQL's own count for the server, all requests
    requests_sent: int = 0  # what the server answered, warm-up included

    @property
    def answered(self) -> int:
        return len(self.latencies_ms)

    @property
    def failed(self) -> int:
        return sum(self.errors.values())

    def line(self) -> str:
        ms = sorted(self.latencies_ms)
        rps = self.answered / self.seconds if self.seconds else 0.0
        xacts = (
            "-"
            if self.transactions is None or not self.requests_sent
            else f"{self.transactions / self.requests_sent:.2f}"
        )
        return (
            f"c={self.concurrency:<3} {self.answered:>5} answers {self.failed:>5} errors "
            f"{rps:>7.1f} req/s  p50 {percentile(ms, 0.5):>8.1f} ms  "
            f"p99 {percentile(ms, 0.99):>8.1f} ms  max {ms[-1] if ms else float('nan'):>8.1f} ms"
            f"  PG xacts/req {xacts}"
        )

    def error_lines(self) -> list[str]:
        return [f"      {count:>5} x {what}" for what, count in self.errors.most_common(4)]


def classify(status: int, answer: Any) -> str | None:
    """None for a clean answer; else what went wrong, short enough to count."""
    errors = answer.get("errors") if isinstance(answer, dict) else None
    if status == 200 and not errors:
        return None
    if not errors:
        return f"HTTP {status}"
    first = errors[0]
    code = (first.get("extensions") or {}).get("code", "?")
    where = ".".join(str(p) for p in first.get("path") or () if not isinstance(p, int))
    more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"HTTP {status} {code}{' at ' + where if where else ''}{more}"


async def _one(session: aiohttp.ClientSession, url: str, body: bytes, headers: Any) -> str | None:
    try:
        async with session.post(url, data=body, headers=headers) as response:
            raw = await response.read()
            status = response.status
    except (aiohttp.ClientError, TimeoutError) as exc:
        return f"{type(exc).__name__}"
    try:
        answer = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return f"HTTP {status} (not JSON)"
    return classify(status, answer)


async def load(url: str, token: str, level: Level, requests: int, seconds: float) -> None:
    body = orjson.dumps({"query": readme_dashboard()})
    headers = {"authorization": f"Bearer {token}", "content-type": "application/json"}
    connector = aiohttp.TCPConnector(limit=level.concurrency)
    left = iter(range(requests))
    async with aiohttp.ClientSession(
        connector=connector, timeout=aiohttp.ClientTimeout(total=90)
    ) as session:
        deadline = time.perf_counter() + seconds

        async def worker() -> None:
            while time.perf_counter() < deadline and next(left, None) is not None:
                began = time.perf_counter()
                problem = await _one(session, url, body, headers)
                level.latencies_ms.append((time.perf_counter() - began) * 1000)
                if problem:
                    level.errors[problem] += 1

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(level.concurrency)))
        level.seconds = time.perf_counter() - began


async def warm(url: str, token: str) -> None:
    """Two sequential requests: the process's first-use work is not the level's."""
    body = orjson.dumps({"query": readme_dashboard()})
    headers = {"authorization": f"Bearer {token}", "content-type": "application/json"}
    async with aiohttp.ClientSession() as session:
        for _ in range(2):
            problem = await _one(session, url, body, headers)
            if problem:
                raise RuntimeError(f"the dashboard fails even alone: {problem}")


async def transactions(database: BenchDatabase) -> int | None:
    """Commits + rollbacks PostgreSQL recorded for the bench database (None on SQLite)."""
    if database.kind != "postgresql":
        return None
    engine = create_async_engine(database.settings.database_url, poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            found = await connection.execute(
                sa.text(
                    "SELECT xact_commit + xact_rollback FROM pg_stat_database"
                    " WHERE datname = current_database()"
                )
            )
            return int(found.scalar_one())
    finally:
        await engine.dispose()


async def per_request(database: BenchDatabase, token: str) -> dict[str, Any]:
    """One warm dashboard request in-process: SQLAlchemy's statements and the driver's calls."""
    with counting_driver_calls() as driver:
        async with InProcess(database) as apps:
            await apps.post("app", token, {"query": readme_dashboard()})
            driver.reset()
            _, statements = await apps.post("app", token, {"query": readme_dashboard()}, warm=False)
    counted: dict[str, Any] = {"sqlalchemy": len(statements)}
    if database.kind == "postgresql":
        counted.update(driver=driver.count, driver_calls=driver.summary())
    return counted


async def run_level(
    database: BenchDatabase,
    token: str,
    concurrency: int,
    args: argparse.Namespace,
    pre_ping: bool = False,
) -> Level:
    level = Level(concurrency)
    server = Server(
        f"app-c{concurrency}",
        "bench.appserver:create_app",
        {**database.server_env(), PRE_PING_ENV: "1" if pre_ping else "0"},
        database.workdir / f"app-c{concurrency}.log",
    )
    before = await transactions(database)
    server.start()
    try:
        await server.wait_ready()
        await warm(f"{server.url}/graphql", token)
        await load(f"{server.url}/graphql", token, level, args.requests, args.seconds)
    finally:
        server.stop()
    level.requests_sent = level.answered + 2  # the warm-up; /readyz counted below
    if before is not None:
        await asyncio.sleep(0.5)  # the server's backends have exited and reported
        after = await transactions(database)
        level.transactions = None if after is None else after - before - 2  # readyz + ours
    return level


async def pre_ping_ab(
    database: BenchDatabase, token: str, concurrency: int, args: argparse.Namespace
) -> list[Level]:
    """Alternating runs without and with the pre-ping; one line per variant, all rounds."""
    runs: dict[bool, list[Level]] = {False: [], True: []}
    for _ in range(args.pre_ping_ab):
        for pre_ping in (False, True):
            runs[pre_ping].append(await run_level(database, token, concurrency, args, pre_ping))
    merged = []
    for pre_ping, levels in runs.items():
        level = Level(concurrency, seconds=sum(run.seconds for run in levels))
        for run in levels:
            level.latencies_ms += run.latencies_ms
            level.errors.update(run.errors)
            level.requests_sent += run.requests_sent
            level.transactions = (level.transactions or 0) + (run.transactions or 0)
        label = "with pre-ping   " if pre_ping else "without pre-ping"
        print("\n".join([f"  {label} " + level.line(), *level.error_lines()]))
        merged.append(level)
    return merged


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.concurrency",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--database-url", default=None, help="postgresql+asyncpg://...")
    parser.add_argument("--levels", default=",".join(map(str, LEVELS)))
    parser.add_argument("--requests", type=int, default=400, help="per level (default 400)")
    parser.add_argument("--seconds", type=float, default=15.0, help="per level (default 15)")
    parser.add_argument("--subscriptions", type=int, default=10)
    parser.add_argument(
        "--pre-ping",
        action="store_true",
        help="PostgreSQL: ping each connection at checkout, as the app did before",
    )
    parser.add_argument(
        "--pre-ping-ab",
        type=int,
        default=0,
        metavar="ROUNDS",
        help="PostgreSQL: per level, ROUNDS alternating runs without and with the pre-ping "
        "(other load on the machine then skews both alike); totals per variant",
    )
    args = parser.parse_args(argv)
    args.levels = [int(level) for level in args.levels.split(",") if level]
    return args


async def _main(args: argparse.Namespace) -> int:
    print(
        f"README dashboard under concurrency  {datetime.now(UTC):%Y-%m-%d %H:%M:%S}Z  "
        f"{os.cpu_count()} CPUs, load average {_load()}"
    )
    if args.pre_ping:
        os.environ[PRE_PING_ENV] = "1"  # this process's engines and the servers' (inherited)
        print("  with a pre-ping at every checkout (PostgreSQL)")
    async with bench_database(args.database_url) as database:
        seeded = await seed_database(database, {"main": args.subscriptions})
        owner = seeded.tenants["main"].owner
        now = datetime.now(UTC)
        token = issue_user_jwt(database.settings, owner, now, ttl=timedelta(hours=2))
        counted = await per_request(database, token)
        print(f"  database {database.kind}; per warm request (in-process): {counted}")
        levels = []
        for concurrency in args.levels:
            if args.pre_ping_ab:
                levels += await pre_ping_ab(database, token, concurrency, args)
                continue
            level = await run_level(database, token, concurrency, args, args.pre_ping)
            levels.append(level)
            print("\n".join(["  " + level.line(), *level.error_lines()]))
    print(f"  load average at the end {_load()}")
    return 1 if any(level.failed for level in levels) else 0


def _load() -> str:
    return " / ".join(f"{value:.1f}" for value in os.getloadavg())


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        return asyncio.run(_main(args))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    with contextlib.suppress(BrokenPipeError):
        sys.exit(main())
