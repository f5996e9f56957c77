"""Fault injection: the next N requests to a path (an fnmatch pattern such as
"/v1/invoices/*/pay") answer 500, or 400, or 429 with Retry-After, or hang before they run,
or run and then lose the connection mid-answer (the effect applied, the answer lost).

`inject(fault, times)` and `clear()` are the contract suite's controls
(tests/fakes/faults.py: "reject", "server_error", "timeout", "drop") for every path."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field


@dataclass
class Fault:
    kind: str  # "error", "reject", "rate_limit", "hang", "drop"
    pattern: str
    times: int
    status: int = 500
    retry_after: float = 1.0
    seconds: float = 0.0


@dataclass
class Faults:
    pending: list[Fault] = field(default_factory=list)
    # How long a "timeout" fault hangs: longer than the provider's timeout in the tests.
    hang_seconds: float = 1.0

    def inject(self, fault: str, *, times: int = 1) -> None:
        if fault == "reject":
            self.pending.append(Fault("reject", "*", times, status=400))
        elif fault == "server_error":
            self.fail("*", times)
        elif fault == "timeout":
            self.hang("*", self.hang_seconds, times)
        elif fault == "drop":
            self.drop("*", times)
        else:
            raise ValueError(f"the Stripe fake has no {fault!r} fault")

    def clear(self) -> None:
        self.pending.clear()

    def fail(self, pattern: str, times: int = 1, status: int = 500) -> None:
        self.pending.append(Fault("error", pattern, times, status=status))

    def rate_limit(self, pattern: str, times: int = 1, retry_after: float = 1.0) -> None:
        self.pending.append(Fault("rate_limit", pattern, times, retry_after=retry_after))

    def hang(self, pattern: str, seconds: float, times: int = 1) -> None:
        """Wait `seconds` (longer than the client's timeout), then run the request."""
        self.pending.append(Fault("hang", pattern, times, seconds=seconds))

    def drop(self, pattern: str, times: int = 1) -> None:
        """Run the request, then cut the connection halfway through the answer."""
        self.pending.append(Fault("drop", pattern, times))

    def take(self, path: str) -> Fault | None:
        for fault in self.pending:
            if fault.times > 0 and fnmatch.fnmatchcase(path, fault.pattern):
                fault.times -= 1
                return fault
        return None
