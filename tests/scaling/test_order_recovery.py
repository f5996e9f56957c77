"""A server killed (SIGKILL) in the middle of a burst of orders, with charges made and not
yet completed: after a restart, the recovery job finishes every order, and the money
agrees with the orders (the audit's "charged for an order that never completes").

`fulfillment serve` runs as a subprocess on a private database with the demo data and
ORDER_PAUSE_AFTER_CHARGE_SECONDS (a test-only hook, refused in production): each order
waits after its charge succeeded, so killing the server once several charges are in the
ledger lands between those charges and their completions, every time. The burst is
orderPlace over real HTTP, distinct keys, on four subscriptions (each order takes its
subscription's lease in turn, so the others wait claimed and uncharged). After the kill,
the server is started again (without the pause) and, while it starts, the recovery job
runs with a clock past the dead orders' leases. Then: no order PENDING; every charge in
the ledger has exactly one local invoice, whose order COMPLETED (or FAILED with the charge
refunded); no order charged twice; the seats are the initial ones plus what the completed
orders bought; a key sent again to the restarted server replays its completed order.
PostgreSQL only, as tests/scaling (the suite's SQLite file lives in the test process)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import uuid
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col

from app.clock import FixedClock, SystemClock
from app.config import Settings
from app.db.engine import create_engine
from app.db.tables import Invoice, LedgerPayment, LedgerRefund, Order, Subscription
from app.runtime import build_runtime
from app.services.demo.tokens import demo_tokens
from app.services.orders.recovery import OrderRecoveryJob
from app.services.worker.options import WorkerOptions
from app.services.worker.runner import Worker
from resolvers.ids import to_global_id
from tests.api.orders_support import PLACE, QUOTE
from tests.scaling.database import private_database
from tests.scaling.server import ServerProcess, serving, start
from tests.support.graphql import Api

pytestmark = pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql"),
    reason="the killed server needs a database outside the test process (PostgreSQL)",
)

BOUND_SECONDS = 40.0  # about 15 s on a quiet machine
PAUSE_AFTER_CHARGE = 3.0
PER_SUBSCRIPTION = 3
# (subscription number, token key): Acme's own two, and two that partners sold.
TARGETS = (
    ("A-S00000001", "owner"),
    ("A-S00000002", "billing_admin"),
    ("A-S00000006", "partner"),
    ("A-S00000007", "other_partner"),
)
KILL_AT_CHARGES = len(TARGETS)  # one charge per subscription: each is mid-pause


def _env(url: str, settings: Settings, pause: float) -> dict[str, str]:
    return {
        "ENVIRONMENT": "development",
        "DATABASE_URL": url,
        "JWT_SECRET": settings.jwt_secret,
        "DATABASE_APPLICATION_NAME": f"recovery-test-{uuid.uuid4().hex[:8]}",
        "TEST_CLOCK": "false",
        "WORKER_IN_PROCESS": "false",  # nothing finishes the orders but the recovery job
        "TRUSTED_DOCUMENTS": "off",
        "ORDER_PAUSE_AFTER_CHARGE_SECONDS": str(pause),
    }


async def test_orders_cut_by_a_killed_server_are_finished_by_the_worker(
    database_url: str, tmp_path: Path
) -> None:
    settings = Settings(environment="development", database_url=database_url)
    async with asyncio.timeout(BOUND_SECONDS), private_database(database_url, settings) as url:
        engine = create_engine(settings.model_copy(update={"database_url": url}))
        try:
            tokens = demo_tokens(settings, SystemClock().now())
            seats_before = await _seats(engine)
            demo_charges = {
                ref for (ref,) in await _rows(engine, sa.select(col(LedgerPayment.ref)))
            }
            keys = await _burst_then_kill(engine, url, settings, tokens, tmp_path / "first.log")
            await _assert_cut(engine, demo_charges)
            server = start([], _env(url, settings, 0), tmp_path / "second.log")  # the restart
            try:
                await asyncio.gather(server.wait_ready(20.0), _recover(settings, url))
                await _replays(server, tokens, keys)
            finally:
                server.stop()
            await _assert_money_agrees(engine, seats_before, demo_charges)
        finally:
            await engine.dispose()


async def _burst_then_kill(
    engine: AsyncEngine, url: str, settings: Settings, tokens: dict[str, str], log: Path
) -> dict[str, tuple[str, str]]:
    """The burst, and SIGKILL once KILL_AT_CHARGES charges are in the ledger; the keys sent
    (key -> (quote token, bearer token))."""
    async with (
        serving([], _env(url, settings, PAUSE_AFTER_CHARGE), log) as server,
        httpx.AsyncClient(base_url=server.url, timeout=30.0) as http,
    ):
        api = Api(http)
        ids = await _subscription_ids(engine)
        sent: dict[str, tuple[str, str]] = {}
        for number, who in TARGETS:
            for n in range(PER_SUBSCRIPTION):
                order = {"subscriptionId": ids[number], "actions": [{"addSeats": {"seats": n + 1}}]}
                quoted = await api.data(QUOTE, {"input": order}, tokens[who])
                sent[f"burst-{number}-{n}"] = (quoted["orderQuote"]["token"], tokens[who])
        charged_before = await _count(engine, LedgerPayment)  # the demo data's own
        burst = [
            asyncio.create_task(api.query(PLACE, {"token": token, "key": key}, bearer))
            for key, (token, bearer) in sent.items()
        ]
        await _until_charged(engine, charged_before + KILL_AT_CHARGES)
        _kill(server)
        answers = await asyncio.gather(*burst, return_exceptions=True)
    cut = [a for a in answers if isinstance(a, httpx.TransportError)]
    finished = [a for a in answers if not isinstance(a, BaseException)]
    assert len(cut) + len(finished) == len(answers), answers
    assert all(a["data"]["orderPlace"]["order"]["status"] == "COMPLETED" for a in finished)
    assert cut, "the kill cut no request"
    return sent


async def _until_charged(engine: AsyncEngine, charges: int) -> None:
    """Polls: the charges are made by another process."""
    for _ in range(1500):
        if await _count(engine, LedgerPayment) >= charges:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"fewer than {charges} charges within 30 s")


def _kill(server: ServerProcess) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(server.process.pid, signal.SIGKILL)
    server.process.wait(timeout=10)


async def _recover(settings: Settings, url: str) -> None:
    """The recovery job, with a clock past the dead orders' leases (60 s)."""
    clock = FixedClock(SystemClock().now() + timedelta(minutes=2))
    runtime = build_runtime(settings.model_copy(update={"database_url": url}), clock=clock)
    options = WorkerOptions(jitter=0, worker_id="recovery-test")
    try:
        handled = await Worker(runtime, options, [OrderRecoveryJob(options)]).run_once()
    finally:
        await runtime.aclose()
    assert handled["order-recovery"] > 0


async def _replays(
    server: ServerProcess, tokens: dict[str, str], sent: dict[str, tuple[str, str]]
) -> None:
    async with httpx.AsyncClient(base_url=server.url, timeout=15.0) as http:
        api = Api(http)
        key, (token, bearer) = next(iter(sent.items()))
        placed = (await api.data(PLACE, {"token": token, "key": key}, bearer))["orderPlace"]
    assert placed["order"]["status"] == "COMPLETED", placed


async def _assert_cut(engine: AsyncEngine, demo_charges: set[str]) -> None:
    """The kill landed between charges and completions: orders charged and still PENDING."""
    charged = sa.select(col(LedgerPayment.invoice_ref)).where(
        col(LedgerPayment.ref).not_in(demo_charges)
    )
    cut = (
        sa.select(sa.func.count())
        .select_from(Order)
        .join(Invoice, col(Invoice.order_id) == col(Order.id))
        .where(col(Order.status) == "PENDING", col(Invoice.provider_ref).in_(charged))
    )
    [(count,)] = await _rows(engine, cut)
    assert count >= 1  # usually all KILL_AT_CHARGES: each of those charges is mid-pause


async def _assert_money_agrees(
    engine: AsyncEngine, seats_before: dict[int, int], demo_charges: set[str]
) -> None:
    orders = await _rows(engine, sa.select(Order))
    invoices = await _rows(engine, sa.select(Invoice).where(col(Invoice.order_id).is_not(None)))
    charges = [
        c for c in await _rows(engine, sa.select(LedgerPayment)) if c.ref not in demo_charges
    ]
    refunds = await _rows(engine, sa.select(LedgerRefund))
    by_id = {o.id: o for o in orders}
    assert Counter(o.status for o in orders)["PENDING"] == 0, [o.result for o in orders]
    assert len(orders) == len(TARGETS) * PER_SUBSCRIPTION
    refunded = {r.payment_ref for r in refunds}
    invoices_by_ref = Counter(i.provider_ref for i in invoices)
    assert all(c.status == "SUCCEEDED" for c in charges)
    assert len(charges) >= KILL_AT_CHARGES
    for charge in charges:
        assert invoices_by_ref[charge.invoice_ref] == 1  # exactly one local invoice
        [invoice] = [i for i in invoices if i.provider_ref == charge.invoice_ref]
        order = by_id[invoice.order_id]
        if charge.ref in refunded:
            assert (order.status, order.refunded) == ("FAILED", charge.amount)
        else:
            assert (order.status, invoice.status, invoice.amount_paid) == (
                "COMPLETED",
                "PAID",
                charge.amount,
            )
    assert len({c.invoice_ref for c in charges}) == len(charges)  # no order charged twice
    completed = [o for o in orders if o.status == "COMPLETED"]
    assert len(completed) + len(refunds) == len(charges)  # every completed order was charged
    bought = Counter[int]()
    for o in completed:
        bought[o.subscription_id] += o.actions[0]["seats"]
    assert await _seats(engine) == {sid: seats + bought[sid] for sid, seats in seats_before.items()}


async def _subscription_ids(engine: AsyncEngine) -> dict[str, str]:
    numbers = [number for number, _ in TARGETS]
    async with engine.connect() as db:
        rows = await db.execute(
            sa.select(col(Subscription.number), col(Subscription.id)).where(
                col(Subscription.number).in_(numbers)
            )
        )
        return {number: to_global_id("Subscription", sid) for number, sid in rows.all()}


async def _seats(engine: AsyncEngine) -> dict[int, int]:
    numbers = [number for number, _ in TARGETS]
    async with engine.connect() as db:
        rows = await db.execute(
            sa.select(col(Subscription.id), col(Subscription.seats)).where(
                col(Subscription.number).in_(numbers)
            )
        )
        return {sid: seats for sid, seats in rows.all()}


async def _rows(engine: AsyncEngine, statement: Any) -> list[Any]:
    async with engine.connect() as db:
        return list((await db.execute(statement)).all())


async def _count(engine: AsyncEngine, table: Any) -> int:
    async with engine.connect() as db:
        return int((await db.execute(sa.select(sa.func.count()).select_from(table))).scalar_one())
