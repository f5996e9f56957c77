"""Faults a fake vendor server can be told to answer with, and the control every fake that
takes part in a provider contract offers (tests/providers/contract/implementations.py)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from typing import Protocol


class Fault(StrEnum):
    REJECT = "reject"  # 400 with an error body
    SERVER_ERROR = "server_error"  # 500
    TIMEOUT = "timeout"  # no answer before the client's timeout
    DROP = "drop"  # the connection is closed without an answer
    PARTIAL = "partial"  # provisioning only: 422, some sections of the upsert failed


class FaultControls(Protocol):
    def inject(self, fault: Fault, *, times: int = 1) -> None:
        """Answer the next `times` requests with `fault`, then behave again."""
        ...

    def clear(self) -> None:
        """Forget the faults still to come."""
        ...


@contextmanager
def outage(faults: FaultControls, fault: Fault) -> Iterator[None]:
    """Every request fails with `fault` until the block ends, so a client's own retries (an
    SDK's, aiohttp's one retry of a GET on a dropped keep-alive connection) fail too."""
    faults.inject(fault, times=1_000)
    try:
        yield
    finally:
        faults.clear()
