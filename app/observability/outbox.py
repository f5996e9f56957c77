"""The outbox gauges, read from the database when /metrics is scraped: one grouped query
gives every worker's backlog (workers are other processes; their own counters cannot)."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db.repositories.outbox import backlog
from app.domain.enums import OutboxStatus
from app.observability.metrics import Metrics

log = logging.getLogger("fulfillment.observability")


async def refresh_outbox_gauges(
    metrics: Metrics, sessions: async_sessionmaker[AsyncSession], now: datetime
) -> None:
    """Set the gauges to the current backlog; a topic seen before and empty now reads 0.
    A failed read keeps the last values and counts a collection error. Ages are by the
    runtime's clock (`now`), as `created_at` is (the test clock's time under it)."""
    try:
        async with sessions() as session:
            rows = await backlog(session)
    except Exception as exc:  # the database is down: the scrape still answers
        metrics.scrape_errors.inc()
        log.warning("outbox gauges not refreshed: %s", type(exc).__name__)
        return
    pending: dict[str, int] = {}
    failed: dict[str, int] = {}
    oldest: dict[str, float] = {}
    for topic, status, count, created_at in rows:
        if status == OutboxStatus.FAILED:
            failed[topic] = count
            continue
        pending[topic] = count
        oldest[topic] = max(0.0, (now - created_at).total_seconds())
    for gauge, values in (
        (metrics.outbox_pending, pending),
        (metrics.outbox_failed, failed),
        (metrics.outbox_oldest_age, oldest),
    ):
        for (topic,) in _label_values(gauge):
            gauge.labels(topic).set(values.get(topic, 0))
        for topic, value in values.items():
            gauge.labels(topic).set(value)


def _label_values(gauge: object) -> list[tuple[str, ...]]:
    """The label sets a gauge has seen (prometheus_client keeps them in `_metrics`)."""
    return list(getattr(gauge, "_metrics", {}).keys())
