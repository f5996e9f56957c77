"""`fulfillment serve --workers 2` against PostgreSQL, over real HTTP: the two worker
processes share the load, each within its own pool, and an order placed concurrently
through both with one idempotency key is executed and charged once.

Which process served is read from pg_stat_activity: each process tags its connections
`<DATABASE_APPLICATION_NAME>:<pid>`, and /healthz (the readiness probe here) touches no
database, so a process with a connection that ran SQL after a moment served a GraphQL
request after it. PostgreSQL only (TEST_DATABASE_URL): SQLite refuses several workers."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from app.clock import SystemClock
from app.config import Settings
from app.db.engine import create_engine
from app.db.tables import Invoice, LedgerPayment, Order, Payment, Subscription
from app.services.demo.tokens import demo_tokens
from tests.api.orders_support import PLACE, QUOTE
from tests.scaling.database import ConnectionWatch, private_database, watching
from tests.scaling.server import ServerProcess, serving
from tests.support.graphql import Api

pytestmark = pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql"),
    reason="several server processes need PostgreSQL (TEST_DATABASE_URL)",
)

WORKERS = 2
POOL_SIZE = 2  # small on purpose, with no overflow: the load below must queue on it
CONCURRENT = 24
BOUND_SECONDS = 30.0  # the whole module, server start-up included
SUBSCRIPTION = "A-S00000001"  # the demo's Acme Premium subscription, 10 seats
SEATS = "query($number: String!) { subscription(number: $number) { id number seats } }"


@dataclass
class Cluster:
    server: ServerProcess
    watch: ConnectionWatch
    engine: AsyncEngine  # the test's own view of the database, for what the orders wrote
    owner: str  # the demo owner's bearer token
    deadline: float  # loop time by which the module must be done


@pytest.fixture(scope="module")
async def cluster(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Cluster]:
    """One server for the module, on a database of its own."""
    deadline = asyncio.get_running_loop().time() + BOUND_SECONDS
    name = f"scale-test-{uuid.uuid4().hex[:8]}"
    settings = Settings(environment="development", database_url=database_url)
    log_path = tmp_path_factory.mktemp("scaling") / "server.log"
    async with private_database(database_url, settings) as url:
        env = {
            "ENVIRONMENT": "development",
            "DATABASE_URL": url,
            "JWT_SECRET": settings.jwt_secret,
            "DATABASE_POOL_SIZE": str(POOL_SIZE),
            "DATABASE_MAX_OVERFLOW": "0",
            "DATABASE_APPLICATION_NAME": name,
            "TEST_CLOCK": "false",
            "WORKER_IN_PROCESS": "false",  # no SQL but the requests'
            "TRUSTED_DOCUMENTS": "off",
        }
        engine = create_engine(settings.model_copy(update={"database_url": url}))
        try:
            async with (
                serving(["--workers", str(WORKERS)], env, log_path) as server,
                watching(url, name) as watch,
            ):
                # What tells the processes apart: none has a connection before a request.
                assert await watch.snapshot() == {}, "a process used the database unasked"
                owner = demo_tokens(settings, SystemClock().now())["owner"]
                yield Cluster(server, watch, engine, owner, deadline)
        finally:
            await engine.dispose()


def client(server: ServerProcess) -> httpx.AsyncClient:
    """No keep-alive: every request is a new connection that either worker may accept."""
    return httpx.AsyncClient(
        base_url=server.url, timeout=15.0, limits=httpx.Limits(max_keepalive_connections=0)
    )


async def test_both_workers_serve_within_their_pools(cluster: Cluster) -> None:
    watch = cluster.watch
    served: set[str] = set()
    rounds = 0
    async with (
        asyncio.timeout_at(cluster.deadline),
        client(cluster.server) as http,
        watch.sampling(),
    ):
        api = Api(http)
        while len(served) < WORKERS and rounds < 10:
            rounds += 1
            since = await watch.now()
            bodies = await asyncio.gather(
                *(
                    api.query(SEATS, {"number": SUBSCRIPTION}, cluster.owner)
                    for _ in range(CONCURRENT)
                )
            )
            assert [body.get("errors") for body in bodies] == [None] * CONCURRENT, bodies
            answers = {
                (b["data"]["subscription"]["number"], b["data"]["subscription"]["seats"])
                for b in bodies
            }
            assert answers == {(SUBSCRIPTION, 10)}
            served |= await watch.active_since(since)

    assert len(served) == WORKERS, f"one process took all {rounds} rounds"
    assert set(watch.most_per_process) == served  # the two workers' connections, no others
    assert max(watch.most_per_process.values()) == POOL_SIZE  # the load filled a pool ...
    assert all(n <= POOL_SIZE for n in watch.most_per_process.values())  # ... and no more
    assert watch.most_in_all <= WORKERS * POOL_SIZE


async def test_one_key_through_both_workers_places_one_order(cluster: Cluster) -> None:
    """The same orderPlace, sent at once over fresh connections to both processes: one
    order, one invoice, one charge, one more seat, and every caller gets that order."""
    served: set[str] = set()
    async with asyncio.timeout_at(cluster.deadline), client(cluster.server) as http:
        api = Api(http)
        found = await api.data(SEATS, {"number": SUBSCRIPTION}, cluster.owner)
        subscription = found["subscription"]["id"]
        attempt = 0
        while len(served) < WORKERS and attempt < 3:  # again if one process took every call
            attempt += 1
            served = await _race(cluster, api, subscription, key=f"scale-out-{attempt}")
    assert len(served) == WORKERS, f"one process took every call in {attempt} races"


async def _race(cluster: Cluster, api: Api, subscription: str, key: str) -> set[str]:
    seats = await _seats(cluster.engine)
    charges = await _count(cluster.engine, LedgerPayment)
    order = {"subscriptionId": subscription, "actions": [{"addSeats": {"seats": 1}}]}
    token = (await api.data(QUOTE, {"input": order}, cluster.owner))["orderQuote"]["token"]
    since = await cluster.watch.now()

    bodies = await asyncio.gather(
        *(api.query(PLACE, {"token": token, "key": key}, cluster.owner) for _ in range(CONCURRENT))
    )

    served = await cluster.watch.active_since(since)
    assert all(body["data"] == bodies[0]["data"] for body in bodies), bodies
    placed = bodies[0]["data"]["orderPlace"]
    assert placed["__typename"] == "OrderPlacePayload", placed
    assert placed["order"]["status"] == "COMPLETED"
    assert placed["order"]["subscription"]["seats"] == seats + 1
    assert [p["status"] for p in placed["order"]["invoice"]["payments"]] == ["SUCCEEDED"]
    assert await _count(cluster.engine, Order, Order.idempotency_key == key) == 1
    order_id = sa.select(Order.id).where(Order.idempotency_key == key).scalar_subquery()
    invoices = sa.select(Invoice.id).where(Invoice.order_id == order_id)
    assert await _count(cluster.engine, Invoice, Invoice.order_id == order_id) == 1
    assert await _count(cluster.engine, Payment, Payment.invoice_id.in_(invoices)) == 1
    assert await _count(cluster.engine, LedgerPayment) == charges + 1
    assert await _seats(cluster.engine) == seats + 1
    return served


async def _seats(engine: AsyncEngine) -> int:
    statement = sa.select(Subscription.seats).where(Subscription.number == SUBSCRIPTION)
    return int(await _scalar(engine, statement))


async def _scalar(engine: AsyncEngine, statement: Any) -> Any:
    async with engine.connect() as connection:
        return (await connection.execute(statement)).scalar_one()


async def _count(engine: AsyncEngine, table: type, *where: Any) -> int:
    statement = sa.select(sa.func.count()).select_from(table).where(*where)
    return int(await _scalar(engine, statement))
