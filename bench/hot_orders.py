"""`python -m bench.hot_orders`: orders on one hot subscription, at concurrency 1, 8 and 32.

Every order is an `orderPlace` (addSeats, its own quote and key) on the same subscription,
so they all take turns on its order lease. For each concurrency:
1. over loopback, against the real server (uvicorn, one worker): places per second that
   completed, answers `ORDER_IN_PROGRESS` (told to retry), errors (anything else: a 5xx,
   another error), p50/p99 latency of a place, server CPU per completed place;
2. in-process (the same app on an engine with a statement listener), as many places at once
   as the concurrency: SQL statements and transactions per completed place, which should
   not grow with the number of orders waiting;
3. afterwards: seats added must equal the completed orders' seats (no lost update) and the
   billing ledger must hold exactly one charge per completed order.
Quotes are made before each run and are not timed. Writes bench/results/*-hot-orders.txt.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import sqlalchemy as sa
from sqlalchemy import event
from sqlmodel import col

from app.auth.tokens import issue_user_jwt
from app.db.engine import create_session_factory
from app.db.tables import LedgerPayment, Order, Subscription
from app.db.unit_of_work import unit_of_work
from app.domain.enums import OrderStatus
from bench import queries
from bench.database import BenchDatabase, bench_database
from bench.load import LoadError, run_load
from bench.report import machine_info
from bench.seed import seed
from bench.servers import Server, Servers
from bench.statements import InProcess
from resolvers.ids import to_global_id

RESULTS = Path(__file__).resolve().parent / "results"


@dataclass
class Hot:
    database: BenchDatabase
    token: str
    subscription_id: int

    @property
    def gid(self) -> str:
        return to_global_id("Subscription", self.subscription_id)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.hot_orders", description=__doc__)
    parser.add_argument("--database-url", default=None, help="postgresql+asyncpg://...")
    parser.add_argument("--concurrency", default="1,8,32", help="comma-separated (1,8,32)")
    parser.add_argument("--places", type=int, default=96, help="places per run (96)")
    parser.add_argument("--case-seconds", type=float, default=30.0, help="time cap per run")
    parser.add_argument("--no-save", action="store_true")
    args = parser.parse_args(argv)
    args.concurrency = [int(c) for c in args.concurrency.split(",") if c]
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    import uvloop

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(_main(args))


async def _main(args: argparse.Namespace) -> int:
    machine = machine_info()
    lines = [
        f"hot-subscription orders  {datetime.now(UTC):%Y-%m-%d %H:%M:%S}Z  git {machine['git']}",
        f"  {machine['cpu_count']} CPUs, load average at start {machine['loadavg_at_start']}",
    ]
    print("\n".join(lines))
    async with bench_database(args.database_url) as database:
        hot = await _seed(database)
        lines.append(f"  database: {database.kind}; one subscription, {args.places} places per run")
        print(lines[-1])
        servers = Servers()
        app = Server("app", "bench.appserver:create_app", database.server_env(),
                     database.workdir / "app.log")  # fmt: skip
        try:
            await servers.start(app)
            failed = False
            for concurrency in args.concurrency:
                line, ok = await _case(args, hot, app, concurrency)
                lines.append(line)
                print(line)
                failed = failed or not ok
        finally:
            servers.stop_all()
    if not args.no_save:
        RESULTS.mkdir(exist_ok=True)
        stem = f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{database.kind}-hot-orders.txt"
        (RESULTS / stem).write_text("\n".join(lines) + "\n")
        print(f"results: {RESULTS / stem}")
    return 1 if failed else 0


async def _seed(database: BenchDatabase) -> Hot:
    engine = database.engine()
    try:
        async with unit_of_work(create_session_factory(engine)) as session:
            seeded = await seed(session, {"hot": 1})
    finally:
        await engine.dispose()
    tenant = seeded.tenants["hot"]
    now = datetime.now(UTC)
    token = issue_user_jwt(database.settings, tenant.owner, now, ttl=timedelta(hours=2))
    return Hot(database, token, tenant.subscription_ids[0])


async def _case(
    args: argparse.Namespace, hot: Hot, app: Server, concurrency: int
) -> tuple[str, bool]:
    before = await _totals(hot)
    tokens = await _quotes(hot, app, args.places)
    retries: list[int] = []
    stats = await run_load(
        _placing(app, hot, tokens, retries),
        operations=args.places,
        concurrency=concurrency,
        max_seconds=args.case_seconds,
        server_cpu=app.cpu_seconds,
    )
    completed = stats.operations - len(retries)
    statements, transactions, counted = await _counted(hot, app, concurrency)
    after = await _totals(hot)
    seats, charges, in_db = (a - b for a, b in zip(after, before, strict=True))
    elapsed = stats.seconds or 1.0
    cpu = (stats.server_cpu_ms_per_op or 0.0) * stats.operations / max(completed, 1)
    line = (
        f"  c={concurrency:<3} {completed / elapsed:6.1f} completed/s  "
        f"in progress {len(retries):3}  errors {stats.errors:3}  "
        f"p50 {stats.p50_ms:7.1f} ms  p99 {stats.p99_ms:7.1f} ms  "
        f"cpu {cpu:6.1f} ms/place  SQL {statements:6.1f}/place  tx {transactions:5.1f}/place\n"
        f"        orders COMPLETED in the database {in_db} "
        f"(answered COMPLETED {completed + counted}), lost updates {in_db - seats}, "
        f"charges without a completed order {charges - in_db}"
    )
    if stats.first_error:
        line += f"\n        first error: {stats.first_error}"
    consistent = in_db == seats == charges == completed + counted
    return line, stats.errors == 0 and consistent


def _placing(app: Server, hot: Hot, tokens: list[str], retries: list[int]) -> Any:
    url = f"{app.url}/graphql"
    headers = {"authorization": f"Bearer {hot.token}", "content-type": "application/json"}
    run = time.time_ns()

    async def operation(session: aiohttp.ClientSession, index: int, worker: int) -> int:
        body = {
            "query": queries.PLACE,
            "variables": {"token": tokens[index], "key": f"{run}-{index}"},
        }
        async with session.post(url, data=orjson.dumps(body), headers=headers) as response:
            raw = await response.read()
            if response.status != 200:
                raise LoadError(f"HTTP {response.status}: {raw[:200]!r}")
        _classify(orjson.loads(raw), index, retries)
        return 1

    return operation


def _classify(answer: dict[str, Any], index: int, retries: list[int]) -> None:
    placed = (answer.get("data") or {}).get("orderPlace") or {}
    if placed.get("__typename") == "OrderPlacePayload":
        return
    if placed.get("code") == "ORDER_IN_PROGRESS":
        retries.append(index)
        return
    raise LoadError(f"orderPlace: {str(answer)[:200]}")


async def _quotes(hot: Hot, app: Server, count: int) -> list[str]:
    headers = {"authorization": f"Bearer {hot.token}"}
    body = {"query": queries.QUOTE, "variables": {"input": queries.add_seats_input(hot.gid)}}
    async with aiohttp.ClientSession() as session:

        async def one() -> str:
            async with session.post(f"{app.url}/graphql", json=body, headers=headers) as response:
                token: str = (await response.json())["data"]["orderQuote"]["token"]
                return token

        return [await one() for _ in range(count)]


async def _counted(hot: Hot, app: Server, concurrency: int) -> tuple[float, float, int]:
    """`concurrency` places at once, in-process: statements and transactions per completed
    place, and how many completed."""
    async with InProcess(hot.database) as apps:
        begins: list[int] = []
        event.listen(apps.engine.sync_engine, "begin", lambda *_: begins.append(1))
        tokens = await _quotes(hot, app, concurrency)
        apps.counter.reset()
        run = time.time_ns()
        answers = await asyncio.gather(
            *(
                apps.clients["app"].post(
                    "/graphql",
                    json={"query": queries.PLACE, "variables": {"token": t, "key": f"n{run}-{i}"}},
                    headers={"authorization": f"Bearer {hot.token}"},
                )
                for i, t in enumerate(tokens)
            )
        )
        statements, transactions = len(apps.counter.statements), len(begins)
    done = sum(
        1
        for a in answers
        if a.status_code == 200
        and a.json()["data"]["orderPlace"]["__typename"] == "OrderPlacePayload"
    )
    return statements / max(done, 1), transactions / max(done, 1), done


async def _totals(hot: Hot) -> tuple[int, int, int]:
    """The subscription's seats, the ledger's charges, the completed orders."""
    engine = hot.database.engine()
    try:
        async with create_session_factory(engine)() as session:
            seats = await session.scalar(
                sa.select(Subscription.seats).where(Subscription.id == hot.subscription_id)  # type: ignore[arg-type]
            )
            charges = await session.scalar(sa.select(sa.func.count()).select_from(LedgerPayment))
            completed = await session.scalar(
                sa.select(sa.func.count())
                .select_from(Order)
                .where(col(Order.status) == OrderStatus.COMPLETED)
            )
    finally:
        await engine.dispose()
    return int(seats or 0), int(charges or 0), int(completed or 0)


if __name__ == "__main__":
    sys.exit(main())
