"""GET /metrics after requests to the plain HTTP routes: the invoice PDF and the Stripe
webhook are counted by route template, method and status, one per request, and no raw path
(an invoice number) ever becomes a label."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.clock import FixedClock
from app.config import Settings
from app.main import create_app
from app.observability.metrics import Metrics
from app.providers.registry import build_providers
from app.runtime import Runtime, build_runtime
from tests.api.webhook_support import SECRET, deliver, event
from tests.support import factories as f
from tests.support.graphql import user_token
from tests.support.metrics import moved, scrape

HTTP = "fulfillment_http_requests_total"
HTTP_COUNT = "fulfillment_http_request_duration_seconds_count"
PDF = "/invoices/{number}.pdf"
HOOK = "/webhooks/stripe"


@pytest.fixture
def hooked(
    settings: Settings, session_factory: async_sessionmaker[AsyncSession], clock: FixedClock
) -> Runtime:
    """A runtime with the webhook secret set, counting into its own metrics."""
    hooked = settings.model_copy(update={"stripe_webhook_secret": SECRET})
    metrics = Metrics()
    providers = build_providers(hooked, session_factory, clock, metrics)
    return build_runtime(
        hooked, sessions=session_factory, clock=clock, providers=providers, metrics=metrics
    )


async def test_pdf_and_webhook_requests_are_counted_by_route_template(
    hooked: Runtime, db: AsyncSession, settings: Settings
) -> None:
    customer = await f.customer(db)
    owner = user_token(settings, await f.user(db, member_of=customer))
    sub = await f.subscription(db, customer)
    first = await f.invoice(db, sub, amounts=(1_000,))
    second = await f.invoice(db, sub, amounts=(2_000,))
    transport = httpx.ASGITransport(app=create_app(runtime=hooked))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        before = await scrape(client)
        auth = {"Authorization": f"Bearer {owner}"}
        for number in (first.number, second.number):
            assert (await client.get(f"/invoices/{number}.pdf", headers=auth)).status_code == 200
        assert (await client.get(f"/invoices/{first.number}.pdf")).status_code == 401
        assert (await client.get("/invoices/NOPE-1.pdf", headers=auth)).status_code == 404
        delivered = await deliver(client, event("customer.updated", {"id": "cus_1"}))
        assert delivered.status_code == 202, delivered.text
        refused = await deliver(client, event("customer.updated", {"id": "cus_2"}), secret="x")
        assert refused.status_code == 400, refused.text
        assert (await client.get(HOOK)).status_code == 405  # the router's: before the route
        after = await scrape(client)

    pdf, hook = {"route": PDF, "method": "GET"}, {"route": HOOK, "method": "POST"}
    assert moved(before, after, HTTP, **pdf, status="200") == 2
    assert moved(before, after, HTTP, **pdf, status="401") == 1
    assert moved(before, after, HTTP, **pdf, status="404") == 1
    assert moved(before, after, HTTP, **hook, status="202") == 1
    assert moved(before, after, HTTP, **hook, status="400") == 1
    assert moved(before, after, HTTP_COUNT, **pdf) == 4
    assert moved(before, after, HTTP_COUNT, **hook) == 2
    # Every series is by template: no invoice number, no unknown route, no GET on the hook.
    assert after.label_values(HTTP, "route") == {PDF, HOOK}
    assert {first.number, second.number, "NOPE-1"}.isdisjoint(after.text.split('"'))
    assert after.value(HTTP, route=HOOK, method="GET", status="405") == 0
    # GraphQL requests and the scrapes themselves are not in this family.
    assert "/graphql" not in after.label_values(HTTP, "route")
