"""`fulfillment worker --metrics-port`: the worker process's own metrics (its job runs and the
provider calls its outbox makes) on a plain HTTP listener in a thread, as a Prometheus agent
beside it scrapes them. No token: it listens on 127.0.0.1 unless told otherwise, so bind it
elsewhere only on a private network."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import start_http_server

from app.observability.metrics import Metrics


@contextmanager
def served_metrics(metrics: Metrics, host: str, port: int) -> Iterator[int]:
    """Serve `metrics` at http://host:port/metrics while open; yields the port (0: any)."""
    server, thread = start_http_server(port, addr=host, registry=metrics.registry)
    try:
        yield int(server.server_port)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
