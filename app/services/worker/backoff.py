"""When a failed message is tried again: exponential backoff with deterministic jitter."""

from __future__ import annotations

import hashlib
from datetime import timedelta

from app.services.worker.options import WorkerOptions


def retry_delay(attempts: int, key: str, options: WorkerOptions) -> timedelta:
    """The wait after the `attempts`-th failure: base x 2^(attempts - 1), capped at
    `max_delay`, then up to `jitter` of that added (a fraction fixed by key and attempt, so
    the same message always waits the same, and messages that failed together spread out)."""
    exponent = max(attempts, 1) - 1
    seconds = options.base_delay.total_seconds() * (2 ** min(exponent, 32))
    seconds = min(seconds, options.max_delay.total_seconds())
    digest = hashlib.sha256(f"{key}:{attempts}".encode()).digest()
    fraction = int.from_bytes(digest[:8], "big") / 2**64
    return timedelta(seconds=seconds * (1 + options.jitter * fraction))
