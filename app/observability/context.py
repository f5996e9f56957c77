"""What the current request is, for the code below it that has no handle on the request: log
lines take the request id and operation from here, and the GraphQL layer reports the
outcome it saw. Context variables follow the request's task and the tasks it starts."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

UNKNOWN_KIND = "unknown"
ANONYMOUS = "anonymous"


@dataclass
class Observation:
    """One GraphQL request as the metrics see it; filled in as the request goes."""

    operation: str = ANONYMOUS  # a bounded label (app.observability.operations)
    kind: str = UNKNOWN_KIND  # query, mutation; unknown when it never validated
    outcome: str | None = None  # set by the GraphQL view; the status decides otherwise
    timed_out: bool = False
    user_error_codes: set[str] = field(default_factory=set)  # of the typed user errors returned


_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
_observation: ContextVar[Observation | None] = ContextVar("observation", default=None)


def current_request_id() -> str | None:
    return _request_id.get()


def current_observation() -> Observation | None:
    return _observation.get()


@contextmanager
def request_id_set(request_id: str) -> Iterator[None]:
    token = _request_id.set(request_id)
    try:
        yield
    finally:
        _request_id.reset(token)


@contextmanager
def observing(observation: Observation) -> Iterator[None]:
    token = _observation.set(observation)
    try:
        yield
    finally:
        _observation.reset(token)


def note_user_error(code: str) -> None:
    """A field answered with a typed user error (schema.errors): the outcome looks at it."""
    observation = _observation.get()
    if observation is not None:
        observation.user_error_codes.add(code)
