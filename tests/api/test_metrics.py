"""GET /metrics after real requests: each counter moves by exactly what happened, labels stay
bounded, and the provider calls are counted by the registry's proxy (the fake Stripe API, so
a provider failure is a real 500 from the vendor)."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.clock import FixedClock
from app.config import Settings
from app.domain.errors import DomainError, ErrorCode
from app.main import create_app
from app.observability.operations import DOCUMENTS, OperationLabels, names_in
from app.observability.orders import order_outcome
from app.runtime import Runtime, build_runtime
from app.services.orders.errors import OrderInProgress
from resolvers import catalog
from tests.api.orders_support import PLACE, acme_world, at, quote
from tests.fakes.stripe import StripeFake
from tests.services.lifecycle_support import run_at
from tests.support import factories as f
from tests.support.graphql import Api, error_codes
from tests.support.metrics import moved, scrape

STRIPE = pytest.mark.parametrize("billing", ["stripe"])

REQUESTS = "fulfillment_graphql_requests_total"
LATENCY_COUNT = "fulfillment_graphql_request_duration_seconds_count"
ORDERS = "fulfillment_orders_total"
PROVIDER_CALLS = "fulfillment_provider_calls_total"
PROVIDER_ERRORS = "fulfillment_provider_errors_total"
PENDING = "fulfillment_outbox_pending_messages"
OLDEST = "fulfillment_outbox_oldest_pending_age_seconds"
PAY = "/v1/invoices/*/pay"
# The frontend's documents name their operations; these names are known (documents/).
NAMED_PLACE = PLACE.replace("mutation(", "mutation OrderPlace(", 1)
PRODUCTS = "query Products { __typename }"


async def _place(api: Api, token: str, quote_token: str, key: str) -> dict[str, Any]:
    result: dict[str, Any] = (
        await api.data(NAMED_PLACE, {"token": quote_token, "key": key}, token=token)
    )["orderPlace"]
    return result


@STRIPE
async def test_each_request_moves_its_counters_by_exactly_one(
    api: Api, db: AsyncSession, settings: Settings, clock: FixedClock, stripe_fake: StripeFake
) -> None:
    acme = await acme_world(db, settings)
    clock.set(at(date(2026, 7, 2)))
    five = await quote(
        api, acme["owner"], subscriptionId=acme["id"], actions=[{"addSeats": {"seats": 5}}]
    )
    two = await quote(
        api, acme["owner"], subscriptionId=acme["id"], actions=[{"addSeats": {"seats": 2}}]
    )
    before = await scrape(api.client)

    assert await api.data(PRODUCTS) == {"__typename": "Query"}  # a read
    placed = await _place(api, acme["owner"], five["token"], "k-ok")  # completes
    refused = await _place(api, acme["owner"], "not-a-quote-token", "k-bad")  # the caller's
    stripe_fake.faults.fail(PAY, times=2)  # both of the SDK's attempts answer 500
    failed = await _place(api, acme["owner"], two["token"], "k-down")

    after = await scrape(api.client)
    assert placed["order"]["status"] == "COMPLETED", placed
    assert (refused["__typename"], refused["code"]) == ("ValidationError", "VALIDATION")
    assert failed["code"] == "PROVIDER_UNAVAILABLE", failed

    place, products = {"operation": "OrderPlace", "kind": "mutation"}, {"operation": "Products"}
    assert moved(before, after, REQUESTS, **products, kind="query", outcome="ok") == 1
    assert moved(before, after, REQUESTS, **place, outcome="ok") == 1
    assert moved(before, after, REQUESTS, **place, outcome="user_error") == 1
    assert moved(before, after, REQUESTS, **place, outcome="error") == 1
    assert moved(before, after, LATENCY_COUNT, **place) == 3
    assert moved(before, after, LATENCY_COUNT, **products, kind="query") == 1
    assert moved(before, after, ORDERS, outcome="completed") == 1
    assert moved(before, after, ORDERS, outcome="refused") == 1
    assert moved(before, after, ORDERS, outcome="failed") == 1
    assert moved(before, after, ORDERS, outcome="declined") == 0
    pay = {"kind": "billing", "implementation": "stripe", "method": "collect_payment"}
    assert moved(before, after, PROVIDER_ERRORS, **pay, error="ProviderUnavailable") == 1
    assert moved(before, after, PROVIDER_CALLS, **pay, outcome="error") == 1
    assert moved(before, after, PROVIDER_CALLS, **pay, outcome="ok") == 1
    assert moved(before, after, "fulfillment_provider_call_duration_seconds_count", **pay) == 2
    # Only the one scrape in between was not a GraphQL request.
    total = sum(value for (name, _), value in after.samples.items() if name == REQUESTS) - sum(
        value for (name, _), value in before.samples.items() if name == REQUESTS
    )
    assert total == 4


async def test_an_unknown_operation_name_adds_no_label_value(api: Api) -> None:
    before = await scrape(api.client)

    for name in ("Evil1", "Evil2", "Evil3"):
        assert await api.data(f"query {name} {{ __typename }}") == {"__typename": "Query"}
    unparsable = await api.client.post(
        "/graphql", json={"query": "query Evil4 {", "operationName": "Evil4"}
    )
    assert await api.data("{ __typename }") == {"__typename": "Query"}

    after = await scrape(api.client)
    assert unparsable.status_code == 200 and "errors" in unparsable.json()
    assert moved(before, after, REQUESTS, operation="other", kind="query", outcome="ok") == 3
    assert (
        moved(before, after, REQUESTS, operation="other", kind="unknown", outcome="rejected") == 1
    )
    assert moved(before, after, REQUESTS, operation="anonymous", kind="query", outcome="ok") == 1
    assert "Evil" not in after.text
    assert after.label_values(REQUESTS, "operation") == {"other", "anonymous"}


@STRIPE
async def test_the_outbox_backlog_is_read_at_scrape_time_and_jobs_are_counted(
    api: Api, db: AsyncSession, settings: Settings, clock: FixedClock, runtime: Runtime
) -> None:
    acme = await acme_world(db, settings)
    clock.set(at(date(2026, 7, 2)))
    five = await quote(
        api, acme["owner"], subscriptionId=acme["id"], actions=[{"addSeats": {"seats": 5}}]
    )
    empty = await scrape(api.client)
    assert empty.label_values(PENDING, "topic") == set()

    assert (await _place(api, acme["owner"], five["token"], "k-1"))["order"]["status"]
    queued = await scrape(api.client)
    handled = await run_at(runtime, clock, at(date(2026, 7, 2)))
    drained = await scrape(api.client)

    topics = {
        "billing.sync_subscription",
        "crm.order_opportunity",  # both CRM writes fail for good: the local CRM has no
        "crm.sync_subscription",  # account for this customer
        "provisioning.push",
    }
    assert queued.label_values(PENDING, "topic") == topics
    for topic in topics:
        assert queued.value(PENDING, topic=topic) == 1
        assert 0 <= queued.value(OLDEST, topic=topic) < 60
        assert (drained.value(PENDING, topic=topic), drained.value(OLDEST, topic=topic)) == (0, 0)
    assert handled["outbox"] == 4
    assert moved(queued, drained, "fulfillment_job_items_total", job="outbox") == 4
    assert (
        moved(queued, drained, "fulfillment_job_runs_total", job="outbox", outcome="handled") == 1
    )
    assert moved(queued, drained, "fulfillment_job_runs_total", job="outbox", outcome="error") == 0


@pytest.mark.parametrize("billing", ["local"])
async def test_a_declined_order_is_the_callers_and_counted_as_declined(
    api: Api, db: AsyncSession, settings: Settings, clock: FixedClock
) -> None:
    acme = await acme_world(db, settings)
    account = await db.get(f.BillingAccount, acme["sub"].billing_account_id)
    assert account is not None
    account.payment_method = "pm_card_declined"  # the local ledger declines it
    await db.flush()
    clock.set(at(date(2026, 7, 2)))
    five = await quote(
        api, acme["owner"], subscriptionId=acme["id"], actions=[{"addSeats": {"seats": 5}}]
    )
    before = await scrape(api.client)

    declined = await _place(api, acme["owner"], five["token"], "k-declined")

    after = await scrape(api.client)
    assert declined["code"] == "PAYMENT_DECLINED", declined
    place = {"operation": "OrderPlace", "kind": "mutation"}
    assert moved(before, after, REQUESTS, **place, outcome="user_error") == 1
    assert moved(before, after, REQUESTS, **place, outcome="error") == 0
    assert moved(before, after, ORDERS, outcome="declined") == 1
    assert moved(before, after, ORDERS, outcome="completed") == 0


async def test_a_request_cut_by_the_time_limit_is_a_timeout(
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    clock: FixedClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def slow(*args: object) -> None:
        await asyncio.sleep(1)

    monkeypatch.setattr(catalog, "products", slow)
    limited = settings.model_copy(update={"request_timeout_seconds": 0.05})
    runtime = build_runtime(limited, sessions=session_factory, clock=clock)
    transport = httpx.ASGITransport(app=create_app(runtime=runtime))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        cut = await client.post("/graphql", json={"query": "query Products { products { code } }"})
        after = await scrape(client)
    await runtime.aclose()

    assert cut.status_code == 503
    assert error_codes(cut.json()) == ["REQUEST_TIMEOUT"]
    labels = {"operation": "Products", "kind": "query"}
    assert after.value(REQUESTS, **labels, outcome="timeout") == 1
    assert after.value(LATENCY_COUNT, **labels) == 1
    assert after.value("fulfillment_graphql_request_duration_seconds_sum", **labels) >= 0.05


@pytest.mark.parametrize(
    ("error", "outcome"),
    [
        (None, "completed"),
        (DomainError(ErrorCode.PAYMENT_DECLINED, "declined"), "declined"),
        (OrderInProgress("busy", 2), "in_progress"),
        (DomainError(ErrorCode.PROVIDER_UNAVAILABLE, "down"), "failed"),
        (DomainError(ErrorCode.PROVIDER_REJECTED, "no"), "failed"),
        (DomainError(ErrorCode.QUOTE_EXPIRED, "late"), "refused"),
        (DomainError(ErrorCode.MANAGED_BY_PARTNER, "theirs"), "refused"),
    ],
)
def test_order_outcomes(error: DomainError | None, outcome: str) -> None:
    assert order_outcome(error) == outcome


def test_the_known_operations_are_the_shipped_documents() -> None:
    known = OperationLabels.shipped().known
    assert {"OrderPlace", "OrderQuote", "Products", "Dashboard", "LicenseSync"} <= known
    assert known == names_in(DOCUMENTS)
    labels = OperationLabels(frozenset({"Products"}))
    assert [labels.label(n) for n in ("Products", "products", "", None, "X" * 10_000)] == [
        "Products",
        "other",
        "anonymous",
        "anonymous",
        "other",
    ]
