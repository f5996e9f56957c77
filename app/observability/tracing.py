"""Optional OpenTelemetry traces: a span per GraphQL request and per provider call.

`pip install '.[otel]'` and OTEL_EXPORTER_OTLP_ENDPOINT turn them on. Without the endpoint
nothing is imported; with it but without the packages the server says so once at start and
runs without traces. The rest of app/ sees only `Tracer`, never opentelemetry."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from typing import Any, Protocol

from app.config import Settings

log = logging.getLogger("fulfillment.observability")


class Span(Protocol):
    def set_attribute(self, key: str, value: str) -> None: ...

    def update_name(self, name: str) -> None: ...


class Tracer(Protocol):
    def span(self, name: str, attributes: Mapping[str, str]) -> AbstractContextManager[Span]: ...


class _NoSpan:
    def set_attribute(self, key: str, value: str) -> None:
        pass

    def update_name(self, name: str) -> None:
        pass


class _NoTracer:
    """Traces off: a span costs one generator, and records nothing."""

    @contextmanager
    def span(self, name: str, attributes: Mapping[str, str]) -> Iterator[Span]:
        yield _NO_SPAN


_NO_SPAN = _NoSpan()
NO_TRACER: Tracer = _NoTracer()


class OtelTracer:
    """Spans through an opentelemetry TracerProvider (the SDK's, or a test's)."""

    def __init__(self, provider: Any) -> None:
        self._tracer = provider.get_tracer("fulfillment")

    @contextmanager
    def span(self, name: str, attributes: Mapping[str, str]) -> Iterator[Span]:
        # The SDK records an exception that leaves the block and marks the span as an error.
        with self._tracer.start_as_current_span(name, attributes=dict(attributes)) as span:
            yield span


def tracer_for(settings: Settings) -> Tracer:
    """The OTLP exporter when configured and installed; no traces otherwise."""
    endpoint = settings.otel_exporter_otlp_endpoint
    if not endpoint:
        return NO_TRACER
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import (  # type: ignore[import-not-found, unused-ignore]
            OTLPSpanExporter,
        )
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError:
        log.warning(
            "OTEL_EXPORTER_OTLP_ENDPOINT is set but OpenTelemetry is not installed "
            "(pip install 'fulfillment-api[otel]'); running without traces"
        )
        return NO_TRACER
    resource = Resource.create({"service.name": settings.otel_service_name})
    provider = TracerProvider(resource=resource)
    exporter = OTLPSpanExporter(endpoint=f"{endpoint.rstrip('/')}/v1/traces")
    provider.add_span_processor(BatchSpanProcessor(exporter))
    log.info("exporting traces to %s", endpoint)
    return OtelTracer(provider)
