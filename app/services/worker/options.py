"""How a worker runs: batch size, claim lease, retry policy. Defaults suit production; tests
pass their own (no jitter, small batches)."""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

MAX_ATTEMPTS = 12


def new_worker_id() -> str:
    """Unique per worker instance: host, process and a random suffix (at most 64 chars)."""
    return f"{socket.gethostname()[:32]}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


@dataclass(frozen=True, slots=True)
class WorkerOptions:
    # Messages claimed per outbox round.
    batch_size: int = 50
    # Messages of one batch carried out at a time (each needs its own DB connection).
    concurrency: int = 1
    # A claim lasts this long; a worker that dies loses its claims when it runs out.
    lease: timedelta = timedelta(minutes=5)
    # One handler call may take this long before it counts as a (retryable) failure. Kept
    # below the lease, and the lease is renewed before a message whose claim is running
    # short, so no message is ever carried out by two workers at once.
    handler_timeout: timedelta = timedelta(seconds=60)
    # Retries: 5 s, 10 s, 20 s, ... doubling up to one hour; FAILED after MAX_ATTEMPTS.
    max_attempts: int = MAX_ATTEMPTS
    base_delay: timedelta = timedelta(seconds=5)
    max_delay: timedelta = timedelta(hours=1)
    # Up to this fraction is added to each delay, derived from the message key and attempt
    # (deterministic), so messages that failed together do not all come back together.
    jitter: float = 0.1
    # `--once` repeats rounds until nothing is due, at most this many times.
    max_rounds: int = 100
    worker_id: str = field(default_factory=new_worker_id)

    def __post_init__(self) -> None:
        if self.batch_size < 1 or self.concurrency < 1 or self.max_attempts < 1:
            raise ValueError("batch_size, concurrency and max_attempts must be at least 1")
        if self.handler_timeout * 2 > self.lease:
            raise ValueError("the lease must be at least twice the handler timeout")
        if not 0 <= self.jitter <= 1:
            raise ValueError("jitter must be between 0 and 1")
        if len(self.worker_id) > 64:
            raise ValueError("worker_id must be at most 64 characters")
