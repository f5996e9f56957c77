"""Traces (the `otel` extra): a span per GraphQL request, named by its bounded operation
label, with the provider calls it made as its children. The SDK's in-memory exporter stands
in for OTLP; the OTLP exporter itself is not exercised here."""

from __future__ import annotations

import logging
import sys
from collections.abc import AsyncIterator
from datetime import date

import httpx
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.clock import FixedClock
from app.config import Settings
from app.main import create_app
from app.observability.metrics import Metrics
from app.observability.tracing import NO_TRACER, OtelTracer, tracer_for
from app.runtime import build_runtime
from tests.api.orders_support import acme_world, at, quote
from tests.api.test_metrics import NAMED_PLACE
from tests.support.graphql import Api

OTLP_EXPORTER = "opentelemetry.exporter.otlp.proto.http.trace_exporter"


@pytest.fixture
def spans() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
async def traced(
    app_settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    clock: FixedClock,
    spans: InMemorySpanExporter,
) -> AsyncIterator[Api]:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    metrics = Metrics(tracer=OtelTracer(provider))
    runtime = build_runtime(app_settings, sessions=session_factory, clock=clock, metrics=metrics)
    transport = httpx.ASGITransport(app=create_app(runtime=runtime))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield Api(client)
    await runtime.aclose()


@pytest.mark.parametrize("billing", ["local"])
async def test_an_order_is_one_request_span_with_its_provider_calls_inside(
    traced: Api,
    db: AsyncSession,
    settings: Settings,
    clock: FixedClock,
    spans: InMemorySpanExporter,
) -> None:
    acme = await acme_world(db, settings)
    clock.set(at(date(2026, 7, 2)))
    five = await quote(
        traced, acme["owner"], subscriptionId=acme["id"], actions=[{"addSeats": {"seats": 5}}]
    )
    spans.clear()

    body = await traced.data(NAMED_PLACE, {"token": five["token"], "key": "k-1"}, acme["owner"])

    assert body["orderPlace"]["order"]["status"] == "COMPLETED"
    finished = spans.get_finished_spans()
    [request] = [span for span in finished if span.name.startswith("graphql")]
    assert request.name == "graphql OrderPlace"
    assert request.attributes is not None
    assert request.attributes["graphql.operation.name"] == "OrderPlace"
    calls = [span for span in finished if span is not request]
    assert "billing.collect_payment" in {span.name for span in calls}
    for span in calls:
        assert span.parent is not None and span.parent.span_id == request.context.span_id
        assert span.attributes == {
            "provider.kind": span.name.split(".")[0],
            "provider.implementation": "local",
        }


def test_no_endpoint_no_traces(settings: Settings) -> None:
    assert tracer_for(settings) is NO_TRACER


def test_an_endpoint_without_the_packages_says_so_once_and_runs_without(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setitem(sys.modules, OTLP_EXPORTER, None)  # import fails as if not installed
    configured = settings.model_copy(update={"otel_exporter_otlp_endpoint": "http://127.0.0.1:1"})

    with caplog.at_level(logging.WARNING, logger="fulfillment.observability"):
        assert tracer_for(configured) is NO_TRACER

    [record] = caplog.records
    assert "pip install 'fulfillment-api[otel]'" in record.getMessage()
