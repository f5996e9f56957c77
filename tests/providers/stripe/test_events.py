"""The fake records Stripe Events (evt_ ids) served at GET /v1/events, and delivers them
signed so that the SDK's own webhook check accepts them."""

from __future__ import annotations

import json

import aiohttp
import stripe
from aiohttp import web

from app.providers.billing.stripe import StripeBillingProvider
from tests.fakes.stripe import TEST_KEY, StripeFake, deliver_events
from tests.providers.factories import new_account, new_invoice

SECRET = "whsec_test_secret"


async def _paid_and_declined(billing: StripeBillingProvider) -> None:
    good = await billing.create_account(
        new_account(payment_method="pm_card_visa"), idempotency_key="a"
    )
    bad = await billing.create_account(
        new_account(payment_method="pm_card_chargeCustomerFail"), idempotency_key="b"
    )
    for n, account in enumerate((good, bad)):
        invoice = await billing.create_invoice(new_invoice(account.ref), idempotency_key=f"i{n}")
        await billing.collect_payment(
            invoice.ref,
            "pm_card_visa" if n == 0 else "pm_card_chargeCustomerFail",
            idempotency_key=f"p{n}",
        )


async def test_events_are_listed_newest_first(
    stripe_billing: StripeBillingProvider, fake: StripeFake
) -> None:
    await _paid_and_declined(stripe_billing)

    async with (
        aiohttp.ClientSession() as session,
        session.get(
            f"{fake.url}/v1/events",
            params={"limit": "100"},
            headers={"Authorization": f"Bearer {TEST_KEY}"},
        ) as response,
    ):
        listed = await response.json()

    types = [event["type"] for event in reversed(listed["data"])]
    assert all(event["id"].startswith("evt_") for event in listed["data"])
    assert types[:3] == ["customer.created", "payment_method.attached", "customer.updated"]
    assert types.count("invoice.paid") == 1
    assert types.count("invoice.payment_failed") == 1
    paid = next(e for e in listed["data"] if e["type"] == "invoice.paid")
    assert paid["data"]["object"]["status"] == "paid"
    assert paid["request"]["idempotency_key"] == "p0:pay"


async def test_deliveries_carry_a_signature_the_sdk_accepts(
    stripe_billing: StripeBillingProvider, fake: StripeFake
) -> None:
    await _paid_and_declined(stripe_billing)
    received: list[str] = []

    async def webhook(request: web.Request) -> web.Response:
        body = await request.text()
        event = stripe.Webhook.construct_event(
            body, request.headers["Stripe-Signature"], SECRET, tolerance=None
        )
        received.append(event.type)
        return web.Response(status=200)

    app = web.Application()
    app.router.add_post("/webhooks/stripe", webhook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        statuses = await deliver_events(
            fake.store, f"http://127.0.0.1:{port}/webhooks/stripe", SECRET
        )
    finally:
        await runner.cleanup()

    assert statuses == [200] * len(fake.store.events)
    assert received == [event["type"] for event in fake.store.events]
    assert json.loads(json.dumps(fake.store.events))  # plain JSON, as delivered
