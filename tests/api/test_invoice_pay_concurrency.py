"""invoicePay under concurrency, end to end through the ASGI app on a database of its own
(real, separately committed transactions; SQLite and PostgreSQL): 50 concurrent calls with
one key charge once and answer alike; concurrent calls with their own keys charge once; a
pay-now racing the grace job's retry of a declined renewal charges once and renews once."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlmodel import col

from app.clock import FixedClock
from app.config import Settings
from app.db.engine import create_session_factory
from app.db.tables import (
    BillingAccount,
    Invoice,
    LedgerPayment,
    Membership,
    PayNowRequest,
    PortalUser,
    Renewal,
    Subscription,
)
from app.domain.lifecycle import RenewalStatus
from app.main import create_app
from app.runtime import Runtime
from app.services.worker.runner import Worker
from resolvers.ids import to_global_id
from tests.api.payments_support import PAY, counted_runtime, payer
from tests.services.lifecycle_support import OPTIONS, at, subscribed
from tests.support.fresh_database import fresh_database
from tests.support.graphql import Api, user_token


@pytest.fixture(scope="module")
async def engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    async with fresh_database(settings) as engine:
        yield engine


@dataclass
class World:
    api: Api
    runtime: Runtime
    sessions: async_sessionmaker[AsyncSession]
    clock: FixedClock
    calls: Counter[str]


@pytest.fixture
async def world(engine: AsyncEngine, settings: Settings) -> AsyncIterator[World]:
    sessions = create_session_factory(engine)
    clock = FixedClock(datetime(2026, 6, 1, 12, tzinfo=UTC))
    calls: Counter[str] = Counter()
    runtime = counted_runtime(settings, sessions, clock, calls)
    transport = httpx.ASGITransport(app=create_app(runtime=runtime))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield World(Api(client), runtime, sessions, clock, calls)


async def _pay(api: Api, token: str, invoice_id: str, key: str) -> dict[str, Any]:
    variables = {"input": {"invoiceId": invoice_id, "idempotencyKey": key}}
    body: dict[str, Any] = (await api.post(PAY, variables, token=token)).json()
    return body


async def _count(sessions: async_sessionmaker[AsyncSession], table: type, *where: Any) -> int:
    async with sessions() as db:
        stmt = sa.select(sa.func.count()).select_from(table).where(*where)
        return int((await db.execute(stmt)).scalar_one())


async def test_fifty_concurrent_calls_with_one_key_charge_once(
    world: World, settings: Settings
) -> None:
    async with world.sessions() as db, db.begin():
        p = await payer(db, settings, amounts=(348_000, 1))
    charges = await _count(world.sessions, LedgerPayment)

    bodies = await asyncio.gather(
        *(_pay(world.api, p.owner, p.invoice_id, "one-key") for _ in range(50))
    )

    assert all(body["data"] == bodies[0]["data"] for body in bodies), bodies[0]
    answer = bodies[0]["data"]["invoicePay"]
    assert answer["invoice"]["status"] == "PAID", answer
    assert answer["payment"] == {"status": "SUCCEEDED", "amount": {"amount": "348001"}}
    assert world.calls["collect_payment"] == 1
    assert await _count(world.sessions, LedgerPayment) == charges + 1
    where = col(PayNowRequest.invoice_id) == p.invoice.id
    assert await _count(world.sessions, PayNowRequest, where) == 1


async def test_concurrent_calls_with_their_own_keys_charge_once(
    world: World, settings: Settings
) -> None:
    async with world.sessions() as db, db.begin():
        p = await payer(db, settings)
    world.calls.clear()

    bodies = await asyncio.gather(
        *(_pay(world.api, p.owner, p.invoice_id, f"key-{n}") for n in range(10))
    )

    answers = [body["data"]["invoicePay"] for body in bodies]
    paid = [a for a in answers if a["__typename"] == "InvoicePayPayload"]
    assert len(paid) == 1, answers
    assert {a.get("code") for a in answers if a not in paid} <= {
        "INVOICE_NOT_OPEN",
        "PAYMENT_IN_PROGRESS",
    }
    assert world.calls["collect_payment"] == 1


async def _declined_renewal(world: World) -> tuple[Subscription, str]:
    """Renewal declined on 2027-01-01; then the owner puts a good card on file."""
    async with world.sessions() as db, db.begin():
        sub = await subscribed(db, seats=10, payment_method="pm_card_declined")
        owner_id = await db.scalar(
            sa.select(col(Membership.user_id)).where(col(Membership.customer_id) == sub.customer_id)
        )
        owner = await db.get(PortalUser, owner_id)
        assert owner is not None
        token = user_token(world.runtime.settings, owner)
    world.clock.set(at(date(2027, 1, 1)))
    await Worker(world.runtime, OPTIONS).run_once()
    async with world.sessions() as db, db.begin():
        account = await db.get(BillingAccount, sub.billing_account_id)
        assert account is not None
        account.payment_method = "pm_card_visa"
    return sub, token


async def test_pay_now_racing_the_grace_retry_charges_once(world: World) -> None:
    sub, owner = await _declined_renewal(world)
    async with world.sessions() as db:
        invoice = await db.scalar(sa.select(Invoice).where(col(Invoice.subscription_id) == sub.id))
        assert invoice is not None
    world.clock.set(at(date(2027, 1, 4)))  # the first retry day
    world.calls.clear()

    body, _ = await asyncio.gather(
        _pay(world.api, owner, to_global_id("Invoice", invoice.id or 0), "pay-1"),
        Worker(world.runtime, OPTIONS).run_once(),
    )

    answer = body["data"]["invoicePay"]
    assert answer["__typename"] == "InvoicePayPayload" or answer["code"] in {
        "INVOICE_NOT_OPEN",
        "PAYMENT_IN_PROGRESS",
    }, answer
    assert world.calls["collect_payment"] == 1
    async with world.sessions() as db:
        renewal = await db.scalar(sa.select(Renewal).where(col(Renewal.subscription_id) == sub.id))
        renewed = await db.get(Subscription, sub.id)
        charged = await db.get(Invoice, invoice.id, populate_existing=True)
        assert charged is not None and charged.provider_ref is not None
        payments = (
            await db.scalars(
                sa.select(col(LedgerPayment.status))
                .where(col(LedgerPayment.invoice_ref) == charged.provider_ref)
                .order_by(col(LedgerPayment.id))
            )
        ).all()
    assert renewal is not None and renewal.status is RenewalStatus.PAID
    assert renewed is not None and (renewed.status, renewed.term_end) == (
        "ACTIVE",
        date(2028, 1, 1),
    )
    assert list(payments) == ["FAILED", "SUCCEEDED"]  # the renewal's first try, then one


class _HeldCollect:
    """The billing provider with a collect held at a gate until the test lets it go, so
    concurrent requests meet it mid-charge (each collect counted)."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.collecting = 0
        self.overlapped = False
        self.arrived, self.released = asyncio.Event(), asyncio.Event()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def collect_payment(self, *args: Any, **kwargs: Any) -> Any:
        self.collecting += 1
        self.overlapped = self.overlapped or self.collecting > 1
        try:
            self.arrived.set()
            await asyncio.wait_for(self.released.wait(), timeout=10)
            return await self._inner.collect_payment(*args, **kwargs)
        finally:
            self.collecting -= 1


async def test_concurrent_keys_for_an_invoice_without_a_subscription_charge_once(
    world: World, settings: Settings
) -> None:
    """No subscription, so no lease: the invoice's request being charged makes any other
    key PAYMENT_IN_PROGRESS until it is done, rather than a second charge with its keys.
    (Last in the module: the factories' invoice numbers it takes would otherwise meet the
    numbers the renewal above is given in this shared database.)"""
    async with world.sessions() as db, db.begin():
        # Numbered apart from the factories' and the app's numbers (this database is shared).
        p = await payer(db, settings, subscription_id=None, number="INV-NOSUB-1")
    held = _HeldCollect(world.runtime.providers.billing)
    world.runtime.providers.billing = held  # type: ignore[assignment]
    world.calls.clear()

    first = asyncio.create_task(_pay(world.api, p.owner, p.invoice_id, "key-0"))
    await asyncio.wait_for(held.arrived.wait(), timeout=10)  # the first request is collecting
    others = await asyncio.gather(
        *(_pay(world.api, p.owner, p.invoice_id, f"key-{n}") for n in range(1, 6))
    )
    held.released.set()
    answers = [body["data"]["invoicePay"] for body in [await first, *others]]

    assert answers[0]["__typename"] == "InvoicePayPayload", answers[0]
    assert [(a["code"], a["retryAfterSeconds"]) for a in answers[1:]] == [
        ("PAYMENT_IN_PROGRESS", 5)
    ] * 5
    assert (world.calls["collect_payment"], held.overlapped) == (1, False)
    where = col(PayNowRequest.invoice_id) == p.invoice.id
    assert await _count(world.sessions, PayNowRequest, where) == 1  # the refused left none
    again = await _pay(world.api, p.owner, p.invoice_id, "key-1")  # done: it is paid now
    assert again["data"]["invoicePay"]["code"] == "INVOICE_NOT_OPEN"
