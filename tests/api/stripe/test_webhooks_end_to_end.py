"""Stripe's webhooks end to end, with BILLING_PROVIDER=stripe: what happens in Stripe "by
hand" (through the fake Stripe API directly, as in Stripe's dashboard) reaches the app as the
fake's signed events POSTed over HTTP to /webhooks/stripe, and the worker's outbox run makes
the local copy follow: an invoice paid in Stripe reads PAID, a subscription changed there
reads DRIFTED. Deliveries twice or in reverse order change state once; a forged one is
refused and stores nothing."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import aiohttp
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.clock import FixedClock
from app.config import Settings
from app.db.tables import BillingAccount, Invoice, Payment, Subscription
from app.providers.billing import InvoiceLineRecord, NewInvoice
from app.runtime import Runtime
from resolvers.ids import to_global_id
from tests.api.orders_support import acme_world, at, place, quote
from tests.api.stripe.served import served
from tests.api.webhook_support import run_outbox, stored
from tests.fakes.stripe import TEST_KEY, StripeFake, deliver_events
from tests.fakes.stripe.setup import WEBHOOK_SECRET
from tests.fakes.stripe.store import Obj
from tests.support import factories as f
from tests.support.graphql import Api

pytestmark = pytest.mark.parametrize("billing", ["stripe"])

TOTAL = 348_000
NEW = {"createSubscription": {"plan": "premium", "seats": 5, "deployment": {"externalId": "ns-w"}}}


@dataclass
class Shop:
    """A subscription bought through the API (so known to Stripe), the app's webhook URL, and
    the fake Stripe API to act on directly."""

    subscription: Subscription
    url: str
    fake: StripeFake

    async def by_hand(self, method: str, path: str, **params: str) -> list[Obj]:
        """A request straight to Stripe's API (the dashboard's): the events it made."""
        before = len(self.fake.store.events)
        headers = {"Authorization": f"Bearer {TEST_KEY}"}
        async with aiohttp.ClientSession() as session:
            request = session.request(method, self.fake.url + path, data=params, headers=headers)
            async with request as response:
                assert response.status == 200, await response.text()
        return self.fake.store.events[before:]

    async def deliver(self, events: list[Obj], secret: str = WEBHOOK_SECRET) -> list[int]:
        return await deliver_events(self.fake.store, self.url, secret, events)


@pytest.fixture
async def shop(
    api: Api,
    db: AsyncSession,
    settings: Settings,
    clock: FixedClock,
    runtime: Runtime,
    stripe_fake: StripeFake,
) -> AsyncIterator[Shop]:
    acme = await acme_world(db, settings)
    clock.set(at(date(2026, 6, 1)))
    customer = to_global_id("Customer", acme["customer"].id)
    q = await quote(api, acme["owner"], customerId=customer, actions=[NEW])
    placed = await place(api, acme["owner"], q["token"])
    assert placed["order"]["status"] == "COMPLETED", placed
    number = placed["order"]["subscription"]["number"]
    await run_outbox(runtime)  # billing sync: Stripe has the subscription sold
    sub = (
        await db.scalars(sa.select(Subscription).where(col(Subscription.number) == number))
    ).one()
    async with served(runtime) as base:
        yield Shop(sub, f"{base}/webhooks/stripe", stripe_fake)


async def _open_invoice(db: AsyncSession, runtime: Runtime, sub: Subscription) -> Invoice:
    """An OPEN invoice the app issued in Stripe (not collected)."""
    account = await db.get(BillingAccount, sub.billing_account_id)
    assert account is not None and account.provider_ref is not None
    line = InvoiceLineRecord("Premium, 10 seats", 10, 34_800, TOTAL)
    remote = await runtime.providers.billing.create_invoice(
        NewInvoice(account.provider_ref, None, "USD", (line,), date(2026, 6, 30)),
        idempotency_key=f"test:{uuid.uuid4().hex}",
    )
    return await f.invoice(db, sub, (TOTAL,), provider_ref=remote.ref)


async def _state(db: AsyncSession, invoice: Invoice) -> tuple[Any, ...]:
    await db.refresh(invoice)
    rows = await db.execute(
        sa.select(col(Payment.amount), col(Payment.status), col(Payment.provider_ref)).where(
            col(Payment.invoice_id) == invoice.id
        )
    )
    return invoice.status.value, invoice.amount_paid, [(a, s.value, r) for a, s, r in rows]


async def test_an_invoice_paid_in_stripe_reads_paid_once_whatever_the_order_of_deliveries(
    shop: Shop, db: AsyncSession, runtime: Runtime
) -> None:
    invoice = await _open_invoice(db, runtime, shop.subscription)
    received_before = (await stored(db))[0]

    events = await shop.by_hand("POST", f"/v1/invoices/{invoice.provider_ref}/pay")
    [charge] = [e["data"]["object"] for e in events if e["type"] == "charge.succeeded"]
    assert await _state(db, invoice) == ("OPEN", 0, [])  # nothing known before the news

    newest_first = await shop.deliver(list(reversed(events)))
    await run_outbox(runtime)
    paid = await _state(db, invoice)
    again = await shop.deliver(events)  # Stripe delivers again, in its order
    await run_outbox(runtime)

    assert len(events) >= 2 and newest_first == [202] * len(events)
    assert again == [200] * len(events)  # duplicates, by event id
    assert paid == ("PAID", TOTAL, [(TOTAL, "SUCCEEDED", charge["id"])])
    assert await _state(db, invoice) == paid
    assert (await stored(db))[0] == received_before + len(events)


async def test_a_subscription_changed_in_stripe_reads_drifted(
    shop: Shop, db: AsyncSession, runtime: Runtime, stripe_fake: StripeFake
) -> None:
    sub = shop.subscription
    assert sub.provider_ref is not None and sub.sync_status.value == "SYNCED"
    [item] = stripe_fake.store.objects[sub.provider_ref or ""]["items"]

    events = await shop.by_hand(
        "POST",
        f"/v1/subscriptions/{sub.provider_ref}",
        **{"items[0][id]": item, "items[0][quantity]": "9"},
    )
    statuses = await shop.deliver(events)
    await run_outbox(runtime)
    await db.refresh(sub)

    assert [e["type"] for e in events] == ["customer.subscription.updated"]
    assert statuses == [202]
    assert (sub.sync_status.value, sub.seats) == ("DRIFTED", 5)  # ours is what was sold
    assert await shop.deliver(events) == [200]


async def test_a_forged_delivery_is_refused_and_nothing_stored(
    shop: Shop, db: AsyncSession, runtime: Runtime
) -> None:
    invoice = await _open_invoice(db, runtime, shop.subscription)
    events = await shop.by_hand("POST", f"/v1/invoices/{invoice.provider_ref}/pay")
    before = await stored(db)

    statuses = await shop.deliver(events, secret="whsec_not_stripes")
    await run_outbox(runtime)

    assert statuses == [400] * len(events)
    assert await stored(db) == before
    assert await _state(db, invoice) == ("OPEN", 0, [])
