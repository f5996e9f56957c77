"""creditNoteCreate under concurrency, end to end through the ASGI app on a database of its own
(real, separately committed transactions; SQLite and PostgreSQL): two refunds that together
exceed what was paid cannot both go through, even while the first is still at the provider;
many concurrent refunds give back at most the paid amount; one key retried concurrently
refunds once."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlmodel import col

from app.clock import FixedClock
from app.config import Settings
from app.db.engine import create_session_factory
from app.db.tables import CreditNote, LedgerRefund
from app.domain.enums import CreditNoteStatus, TokenKind
from app.main import create_app
from app.runtime import Runtime
from tests.api.payments_support import counted_runtime, pay, payer
from tests.api.test_money_back import CREATE
from tests.support.fresh_database import fresh_database
from tests.support.graphql import Api, api_token


@pytest.fixture(scope="module")
async def engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    async with fresh_database(settings) as engine:
        yield engine


@dataclass
class World:
    api: Api
    runtime: Runtime
    sessions: async_sessionmaker[AsyncSession]
    calls: Counter[str]


@pytest.fixture
async def world(engine: AsyncEngine, settings: Settings) -> AsyncIterator[World]:
    sessions = create_session_factory(engine)
    clock = FixedClock(datetime(2026, 6, 1, 12, tzinfo=UTC))
    calls: Counter[str] = Counter()
    runtime = counted_runtime(settings, sessions, clock, calls)
    transport = httpx.ASGITransport(app=create_app(runtime=runtime))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield World(Api(client), runtime, sessions, calls)


async def _paid_invoice(world: World, settings: Settings, number: str) -> tuple[str, str, int]:
    """(admin token, invoice id, invoice pk): a 3 480.00 USD invoice paid at the provider."""
    async with world.sessions() as db, db.begin():
        p = await payer(db, settings, number=number)
        admin = await api_token(db, TokenKind.ADMIN)
    answer = await pay(world.api, p.owner, p.invoice_id, "pay-1")
    assert answer["__typename"] == "InvoicePayPayload", answer
    world.calls.clear()
    return admin, p.invoice_id, p.invoice.id or 0


async def _refund(world: World, admin: str, invoice_id: str, key: str, amount: int) -> Any:
    variables = {
        "input": {
            "invoiceId": invoice_id,
            "kind": "REFUND",
            "reason": "BILLING_ERROR",
            "currency": "USD",
            "amount": str(amount),
            "idempotencyKey": key,
        },
        "reason": "concurrency check",
    }
    body: dict[str, Any] = (await world.api.post(CREATE, variables, token=admin)).json()
    return body["data"]["creditNoteCreate"]


async def _given_back(world: World, invoice_pk: int) -> tuple[list[int], list[int]]:
    """(issued notes' amounts, the provider's refunds) for the invoice."""
    async with world.sessions() as db:
        notes = (
            await db.scalars(
                sa.select(CreditNote).where(
                    col(CreditNote.invoice_id) == invoice_pk,
                    col(CreditNote.status) == CreditNoteStatus.ISSUED,
                )
            )
        ).all()
        refs = [note.refund_ref for note in notes]
        refunds = (
            await db.scalars(sa.select(LedgerRefund).where(col(LedgerRefund.ref).in_(refs)))
        ).all()
        return sorted(n.amount for n in notes), sorted(r.amount for r in refunds)


class _HeldRefund:
    """The billing provider with a refund held at a gate until the test lets it go."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.arrived, self.released = asyncio.Event(), asyncio.Event()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def refund_payment(self, *args: Any, **kwargs: Any) -> Any:
        self.arrived.set()
        await asyncio.wait_for(self.released.wait(), timeout=10)
        return await self._inner.refund_payment(*args, **kwargs)


async def test_a_refund_racing_one_still_at_the_provider_cannot_exceed_the_paid_amount(
    world: World, settings: Settings
) -> None:
    admin, invoice_id, pk = await _paid_invoice(world, settings, "INV-RACE-1")
    inner = world.runtime.providers.billing
    held = _HeldRefund(inner)
    world.runtime.providers.billing = held  # type: ignore[assignment]
    try:
        first = asyncio.create_task(_refund(world, admin, invoice_id, "cn-a", 200_000))
        await asyncio.wait_for(held.arrived.wait(), timeout=10)  # the first is at the provider
        second = await _refund(world, admin, invoice_id, "cn-b", 200_000)
        held.released.set()
        answer = await first
    finally:
        world.runtime.providers.billing = inner

    assert answer["__typename"] == "CreditNoteCreatePayload", answer
    assert second["__typename"] == "CreditExceedsError", second
    assert (second["code"], second["remaining"]["amount"]) == ("REFUND_EXCEEDS_PAID", "148000")
    assert world.calls["refund_payment"] == 1
    assert await _given_back(world, pk) == ([200_000], [200_000])


async def test_many_concurrent_refunds_give_back_at_most_what_was_paid(
    world: World, settings: Settings
) -> None:
    admin, invoice_id, pk = await _paid_invoice(world, settings, "INV-RACE-2")

    answers = await asyncio.gather(
        *(_refund(world, admin, invoice_id, f"cn-{n}", 100_000) for n in range(6))
    )

    issued = [a for a in answers if a["__typename"] == "CreditNoteCreatePayload"]
    assert len(issued) == 3, answers  # 3 x 100 000 of 348 000; the rest are refused
    assert {a["code"] for a in answers if a not in issued} == {"REFUND_EXCEEDS_PAID"}
    assert world.calls["refund_payment"] == 3
    assert await _given_back(world, pk) == ([100_000] * 3, [100_000] * 3)


async def test_one_key_retried_concurrently_refunds_once(world: World, settings: Settings) -> None:
    admin, invoice_id, pk = await _paid_invoice(world, settings, "INV-RACE-3")

    answers = await asyncio.gather(
        *(_refund(world, admin, invoice_id, "cn-same", 348_000) for _ in range(5))
    )

    assert all(a["__typename"] == "CreditNoteCreatePayload" for a in answers), answers
    assert len({a["creditNote"]["number"] for a in answers}) == 1
    assert await _given_back(world, pk) == ([348_000], [348_000])
