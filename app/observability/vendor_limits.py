"""The vendors' own API allowances on /metrics, read when it is scraped: a provider that
knows its vendor's usage (Salesforce's Sforce-Limit-Info header, seen on every answer)
says so through `api_usage()`; the gauges show its last reading."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol, runtime_checkable

from app.observability.metrics import Metrics
from app.observability.providers import unwrapped


@runtime_checkable
class ReportsApiUsage(Protocol):
    def api_usage(self) -> tuple[int, int] | None: ...


def refresh_vendor_limits(metrics: Metrics, providers: Mapping[str, tuple[str, object]]) -> None:
    """`providers`: kind -> (implementation name, provider), e.g. "crm" -> ("salesforce", ...)."""
    for kind, (implementation, provider) in providers.items():
        found = unwrapped(provider)
        usage = found.api_usage() if isinstance(found, ReportsApiUsage) else None
        if usage is None:  # no such header, or no call answered yet
            continue
        used, limit = usage
        metrics.vendor_api_used.labels(kind, implementation).set(used)
        metrics.vendor_api_limit.labels(kind, implementation).set(limit)
