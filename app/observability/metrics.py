"""The process's Prometheus metrics, in a registry of its own (not prometheus_client's
global one): every app a test builds counts from zero, and nothing else ends up on /metrics.

Labels are bounded by the code, never by callers: operation names (operations.py),
outcomes, provider kinds/implementations/methods, error class names, job names, outbox
topics. No ids, e-mails or messages."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from app.observability.operations import OperationLabels
from app.observability.tracing import NO_TRACER, Tracer

CONTENT_TYPE = CONTENT_TYPE_LATEST
# Request latency: the p99 targets (docs/operations.md "Observability") fall on bucket bounds.
REQUEST_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 15.0, 30.0)
PROVIDER_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
JOB_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0)


class Metrics:
    def __init__(
        self, operations: OperationLabels | None = None, tracer: Tracer = NO_TRACER
    ) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.operations = operations or OperationLabels.shipped()
        self.tracer = tracer
        registry = self.registry
        self.requests = Counter(
            "fulfillment_graphql_requests",
            "GraphQL requests by operation, kind (query, mutation) and outcome "
            "(ok, user_error, error, timeout, rejected).",
            ["operation", "kind", "outcome"],
            registry=registry,
        )
        self.request_seconds = Histogram(
            "fulfillment_graphql_request_duration_seconds",
            "Time to answer a GraphQL request, by operation and kind.",
            ["operation", "kind"],
            buckets=REQUEST_BUCKETS,
            registry=registry,
        )
        self.compiled_documents = Counter(
            "fulfillment_compiled_documents",
            "Registered documents run from their plan (path=compiled) or on the normal path "
            "(path=fallback, reason: what the plan does not handle).",
            ["path", "reason"],
            registry=registry,
        )
        self.provider_calls = Counter(
            "fulfillment_provider_calls",
            "Provider calls by kind, implementation, method and outcome (ok, error).",
            ["kind", "implementation", "method", "outcome"],
            registry=registry,
        )
        self.provider_errors = Counter(
            "fulfillment_provider_errors",
            "Failed provider calls by the error's class (ProviderUnavailable, ...).",
            ["kind", "implementation", "method", "error"],
            registry=registry,
        )
        self.provider_seconds = Histogram(
            "fulfillment_provider_call_duration_seconds",
            "Time of one provider call, failed ones included.",
            ["kind", "implementation", "method"],
            buckets=PROVIDER_BUCKETS,
            registry=registry,
        )
        self.outbox_pending = Gauge(
            "fulfillment_outbox_pending_messages",
            "Outbox messages not yet carried out, by topic (read at scrape time).",
            ["topic"],
            registry=registry,
        )
        self.outbox_failed = Gauge(
            "fulfillment_outbox_failed_messages",
            "Outbox messages given up on (FAILED), by topic (read at scrape time).",
            ["topic"],
            registry=registry,
        )
        self.outbox_oldest_age = Gauge(
            "fulfillment_outbox_oldest_pending_age_seconds",
            "Age of the oldest pending outbox message, by topic; 0 when none is pending.",
            ["topic"],
            registry=registry,
        )
        self.vendor_api_used = Gauge(
            "fulfillment_vendor_api_requests_used",
            "A vendor's daily API request allowance used, as its last answer said "
            "(Salesforce's Sforce-Limit-Info), by provider kind and implementation.",
            ["kind", "implementation"],
            registry=registry,
        )
        self.vendor_api_limit = Gauge(
            "fulfillment_vendor_api_requests_limit",
            "A vendor's daily API request allowance, as its last answer said.",
            ["kind", "implementation"],
            registry=registry,
        )
        self.scrape_errors = Counter(
            "fulfillment_metrics_collection_errors",
            "Scrapes whose database read (the outbox gauges) failed; the gauges kept their "
            "last values.",
            registry=registry,
        )
        self.job_runs = Counter(
            "fulfillment_job_runs",
            "Worker job runs by job and outcome (handled: did work, idle, error).",
            ["job", "outcome"],
            registry=registry,
        )
        self.job_items = Counter(
            "fulfillment_job_items",
            "Items (messages, orders, subscriptions) worker jobs handled, by job.",
            ["job"],
            registry=registry,
        )
        self.job_seconds = Histogram(
            "fulfillment_job_duration_seconds",
            "Time of one job run.",
            ["job"],
            buckets=JOB_BUCKETS,
            registry=registry,
        )
        self.http_requests = Counter(
            "fulfillment_http_requests",
            "Requests to the plain HTTP routes beside /graphql (webhooks in, invoice PDFs), "
            "by route template (never the raw path), method and status code.",
            ["route", "method", "status"],
            registry=registry,
        )
        self.http_request_seconds = Histogram(
            "fulfillment_http_request_duration_seconds",
            "Time to answer a request to a plain HTTP route, by route template and method.",
            ["route", "method"],
            buckets=REQUEST_BUCKETS,
            registry=registry,
        )
        self.orders = Counter(
            "fulfillment_orders",
            "orderPlace answers by outcome (completed, declined, failed, in_progress, refused).",
            ["outcome"],
            registry=registry,
        )

    def observe_request(self, operation: str, kind: str, outcome: str, seconds: float) -> None:
        self.requests.labels(operation, kind, outcome).inc()
        self.request_seconds.labels(operation, kind).observe(seconds)

    def observe_http(self, route: str, method: str, status: int, seconds: float) -> None:
        self.http_requests.labels(route, method, str(status)).inc()
        self.http_request_seconds.labels(route, method).observe(seconds)

    def observe_job(self, job: str, handled: int | None, seconds: float) -> None:
        """`handled` None: the run raised."""
        outcome = "error" if handled is None else "handled" if handled else "idle"
        self.job_runs.labels(job, outcome).inc()
        if handled:
            self.job_items.labels(job).inc(handled)
        self.job_seconds.labels(job).observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)
