"""The demo with BILLING_PROVIDER=stripe (docs/providers.md, "Against a Stripe test
account"): the seed leaves the provider refs empty and the local ledger unwritten, the
worker's billing sync creates the customers and subscriptions in Stripe (the fake Stripe API,
over HTTP), and the documented orders (docs/api-guide.md) and Globex's pay-now then run
against what Stripe holds."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app.clock import FixedClock
from app.config import Settings
from app.db.tables import BillingAccount, Invoice, LedgerAccount, LedgerSubscription, Subscription
from app.runtime import Runtime
from app.services.demo import demo_tokens, seed_demo
from app.services.worker.options import WorkerOptions
from app.services.worker.runner import Worker
from resolvers.ids import to_global_id
from tests.api.orders_support import place, quote
from tests.fakes.stripe import StripeFake
from tests.support.graphql import Api

pytestmark = pytest.mark.parametrize("billing", ["stripe"])

PLACE = """mutation($token: String!) { orderPlace(quoteToken: $token, idempotencyKey: "g-1") {
  __typename ... on PaymentDeclinedError { code declineCode } ... on UserError { code } } }"""
ID = """query($n: String!) { subscription(number: $n) { id } }"""
PAY = """mutation($id: ID!, $key: String!) {
  invoicePay(input: { invoiceId: $id, idempotencyKey: $key }) {
  __typename ... on InvoicePayPayload { invoice { status } }
  ... on PaymentDeclinedError { code } ... on UserError { code } } }"""
CARD = """mutation($id: ID!) { billingAccountSetPaymentMethod(input: { billingAccountId: $id,
  paymentMethodToken: "pm_card_visa", idempotencyKey: "card-1" }) { __typename } }"""

# What Stripe holds after the sync: each live demo subscription's items (product, quantity)
# by customer; Globex's are over (in grace, expired) and get no Stripe subscription.
EXPECTED = {
    "Acme Corp": [
        {"premium": 10, "duo_pro": 5, "storage_10gib": 1},
        {"ultimate": 50},
        {"ultimate": 0},
    ],
    "Northwind Cloud Partners": [{"ultimate": 120}],
    "Contoso Resellers": [{"premium": 30}],
    "Hooli": [{"free": 0}, {"premium": 20}],
}


def _stripe_subscriptions(fake: StripeFake) -> dict[str, list[dict[str, int]]]:
    objects = fake.store.objects
    held: dict[str, list[dict[str, int]]] = {}
    for sub in fake.objects("subscription"):
        items = [objects[ref] for ref in sub["items"]]
        codes = {i["price"]["lookup_key"].split(":")[0]: i["quantity"] for i in items}
        held.setdefault(objects[sub["customer"]]["name"], []).append(codes)
    return {name: sorted(subs, key=sorted) for name, subs in held.items()}


async def _subscription_id(api: Api, token: str, number: str) -> str:
    return str((await api.data(ID, {"n": number}, token=token))["subscription"]["id"])


async def _seeded_and_synced(
    db: AsyncSession, app_settings: Settings, clock: FixedClock, runtime: Runtime
) -> dict[str, str]:
    summary = await seed_demo(db, app_settings, clock)
    assert await db.scalar(sa.select(sa.func.count()).select_from(LedgerAccount)) == 0
    assert await db.scalar(sa.select(sa.func.count()).select_from(LedgerSubscription)) == 0
    assert {a.provider_ref for a in await db.scalars(sa.select(BillingAccount))} == {None}
    assert {i.provider_ref for i in await db.scalars(sa.select(Invoice))} == {None}
    await Worker(runtime, WorkerOptions(jitter=0, worker_id="demo")).run_once()
    return summary.subscription_numbers


async def test_the_demo_syncs_to_stripe_and_its_orders_bill_there(
    api: Api,
    db: AsyncSession,
    app_settings: Settings,
    clock: FixedClock,
    runtime: Runtime,
    stripe_fake: StripeFake,
) -> None:
    numbers = await _seeded_and_synced(db, app_settings, clock, runtime)

    expected = {name: sorted(subs, key=sorted) for name, subs in EXPECTED.items()}
    assert _stripe_subscriptions(stripe_fake) == expected
    subs = {s.number: s for s in await db.scalars(sa.select(Subscription))}
    assert all(subs[numbers[k]].provider_ref is None for k in ("globex_premium", "globex_research"))
    synced = [s for s in subs.values() if s.provider_ref is not None]
    assert len(synced) == 7 and {s.sync_status for s in synced} == {"SYNCED"}
    assert {i.sync_status for i in await db.scalars(sa.select(Invoice))} == {"SYNCED"}

    tokens = demo_tokens(app_settings, datetime.now(UTC))
    acme = await _subscription_id(api, tokens["owner"], numbers["acme_premium"])
    q = await quote(api, tokens["owner"], subscriptionId=acme, actions=[{"addSeats": {"seats": 5}}])
    placed = await place(api, tokens["owner"], q["token"])

    assert placed["order"]["status"] == "COMPLETED", placed
    [charge] = stripe_fake.objects("charge")
    assert (charge["amount"], charge["status"]) == (int(q["total"]["amount"]), "succeeded")

    owner = tokens["other_customer_owner"]
    globex = await _subscription_id(api, owner, numbers["globex_premium"])
    renewal = await quote(api, owner, subscriptionId=globex, actions=[{"renew": {"seats": 28}}])
    declined: dict[str, Any] = (await api.data(PLACE, {"token": renewal["token"]}, token=owner))[
        "orderPlace"
    ]

    assert declined == {
        "__typename": "PaymentDeclinedError",
        "code": "PAYMENT_DECLINED",
        "declineCode": "generic_decline",  # Stripe's decline_code for this card
    }
    [globex_invoice] = [
        i for i in stripe_fake.objects("invoice") if i["total"] == int(renewal["total"]["amount"])
    ]
    assert globex_invoice["status"] == "void"
    assert [c["status"] for c in stripe_fake.objects("charge")] == ["succeeded", "failed"]


async def test_globex_pays_its_open_invoice_in_stripe_after_a_card_change(
    api: Api,
    db: AsyncSession,
    app_settings: Settings,
    clock: FixedClock,
    runtime: Runtime,
    stripe_fake: StripeFake,
) -> None:
    summary = await seed_demo(db, app_settings, clock)
    again = await seed_demo(db, app_settings, clock)  # found without provider refs
    assert (again.created, again.invoice_numbers) == (False, summary.invoice_numbers)
    assert len(summary.invoice_numbers) == 8 and len(summary.subscription_numbers) == 9
    await Worker(runtime, WorkerOptions(jitter=0, worker_id="demo")).run_once()
    number = summary.invoice_numbers["globex_q3_reconciliation"]
    invoice = (await db.scalars(sa.select(Invoice).where(Invoice.number == number))).one()
    owner = demo_tokens(app_settings, datetime.now(UTC))["other_customer_owner"]
    ids = {"id": to_global_id("Invoice", invoice.id or 0)}
    account = to_global_id("BillingAccount", invoice.billing_account_id)

    first = await api.data(PAY, {**ids, "key": "p-1"}, token=owner)
    card = await api.data(CARD, {"id": account}, token=owner)
    second = await api.data(PAY, {**ids, "key": "p-2"}, token=owner)

    assert first["invoicePay"] == {"__typename": "PaymentDeclinedError", "code": "PAYMENT_DECLINED"}
    assert card["billingAccountSetPaymentMethod"]["__typename"].endswith("Payload"), card
    assert second["invoicePay"] == {
        "__typename": "InvoicePayPayload",
        "invoice": {"status": "PAID"},
    }
    assert [c["status"] for c in stripe_fake.objects("charge")] == ["failed", "succeeded"]
