"""The fake's state: Stripe objects by id, the clock, recorded events, and Stripe's errors."""

from __future__ import annotations

import copy
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

API_VERSION = "2026-10-28.endive"
Obj = dict[str, Any]


class StripeFault(Exception):
    """An error answer, as Stripe's {"error": {...}}. `saved`: whether the idempotency layer
    stores it (Stripe does not store a request that failed parameter validation)."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
        decline_code: str | None = None,
        saved: bool = True,
        extra: Obj | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.saved = status, saved
        error = {"type": type, "message": message, "code": code, "param": param}
        if decline_code is not None:
            error["decline_code"] = decline_code
        if code is not None:
            error["doc_url"] = f"https://docs.stripe.com/error-codes/{code.replace('_', '-')}"
        self.error = {
            key: value for key, value in {**error, **(extra or {})}.items() if value is not None
        }

    def body(self) -> Obj:
        return {"error": self.error}


def invalid(message: str, param: str | None = None, code: str | None = None) -> StripeFault:
    """A parameter Stripe refuses before it runs the request (not stored for the key)."""
    return StripeFault(400, message, code=code, param=param, saved=False)


def refused(message: str, code: str | None = None, param: str | None = None) -> StripeFault:
    """A request Stripe ran and refused for the object's state (stored for the key)."""
    return StripeFault(400, message, code=code, param=param)


def missing(kind: str, ref: str, param: str | None = None, status: int = 404) -> StripeFault:
    return StripeFault(status, f"No such {kind}: '{ref}'", code="resource_missing", param=param)


@dataclass
class Store:
    objects: dict[str, Obj] = field(default_factory=dict)
    events: list[Obj] = field(default_factory=list)
    # Seconds since the epoch; a test may make the fake follow the app's clock.
    clock: Callable[[], float] = time.time
    # PaymentMethod id -> how its charges end: None (succeed) or a decline code.
    declines: dict[str, str | None] = field(default_factory=dict)
    # Every subscription create/update's proration_behavior (None when it was not given).
    prorations: list[str | None] = field(default_factory=list)
    # The request being run, as events name it: {"id": "req_...", "idempotency_key": ...}.
    request: Obj = field(default_factory=lambda: {"id": None, "idempotency_key": None})
    # The frozen time of the test clock the request's objects live under (None: real time);
    # set when the request touches a customer on a clock, or an object of one (clocks.py).
    frozen: int | None = None
    # How long a test clock stays "advancing" before its objects move (clocks.py), and
    # the clocks whose next advance ends in internal_failure.
    advance_seconds: float = 0.005
    failing_clocks: set[str] = field(default_factory=set)
    _sequence: int = 0

    def now(self) -> int:
        return self.frozen if self.frozen is not None else int(self.clock())

    def new_id(self, prefix: str) -> str:
        self._sequence += 1
        return f"{prefix}_{self._sequence:06d}{secrets.token_hex(4)}"

    def add(self, obj: Obj) -> Obj:
        self.objects[obj["id"]] = obj
        return obj

    def get(
        self, kind: str, ref: str, *, object: str, param: str | None = None, status: int = 404
    ) -> Obj:
        found = self.objects.get(ref)
        if found is None or found.get("object") != object:
            raise missing(kind, ref, param, status)
        self.enter_clock_of(found)
        return found

    def enter_clock_of(self, obj: Obj) -> None:
        """Objects of a customer on a test clock live at its frozen time: so does the rest of
        the request (Stripe: a subscription's, an invoice's times follow its customer's)."""
        is_customer = obj.get("object") == "customer"
        owner = obj if is_customer else self.objects.get(str(obj.get("customer")))
        clock = self.objects.get(str((owner or {}).get("test_clock")))
        if clock is not None and clock.get("object") == "test_helpers.test_clock":
            self.frozen = int(clock["frozen_time"])

    def all(self, object: str) -> list[Obj]:
        return [obj for obj in self.objects.values() if obj.get("object") == object]

    def emit(self, type: str, obj: Obj, previous: Obj | None = None) -> None:
        data: Obj = {"object": copy.deepcopy(obj)}
        if previous:
            data["previous_attributes"] = copy.deepcopy(previous)
        self.events.append(
            {
                "id": self.new_id("evt"),
                "object": "event",
                "api_version": API_VERSION,
                "created": self.now(),
                "data": data,
                "livemode": False,
                "pending_webhooks": 0,
                "request": dict(self.request),
                "type": type,
            }
        )


def list_of(data: list[Obj], url: str, *, has_more: bool = False) -> Obj:
    return {"object": "list", "data": data, "has_more": has_more, "url": url}


def page(items: list[Obj], params: Obj, url: str) -> Obj:
    """A list endpoint's page: `starting_after` and `limit` (default 10, at most 100)."""
    limit = max(1, min(100, int(params.get("limit", 10))))
    after = params.get("starting_after")
    if after:
        ids = [item["id"] for item in items]
        items = items[ids.index(after) + 1 :] if after in ids else []
    return list_of(items[:limit], url, has_more=len(items) > limit)


def merge_metadata(target: Obj, given: Any) -> None:
    """Stripe merges metadata keys; an empty value deletes the key; "" clears all."""
    if given is None:
        return
    if given == "":
        target["metadata"] = {}
        return
    for key, value in given.items():
        if value == "":
            target["metadata"].pop(key, None)
        else:
            target["metadata"][key] = str(value)


def flag(value: Any) -> bool:
    return str(value).lower() == "true"


def integer(params: Obj, name: str, *, required: bool = False) -> int | None:
    value = params.get(name)
    if value is None:
        if required:
            raise invalid(f"Missing required param: {name}.", name, "parameter_missing")
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise invalid(f"Invalid integer: {value}", name) from None


def expand(store: Store, obj: Obj, paths: list[str]) -> Obj:
    """A copy of `obj` with each `expand[]` path's ids replaced by their objects."""
    obj = copy.deepcopy(obj)
    for path in paths:
        _expand(store, obj, path.split("."))
    return obj


def _expand(store: Store, node: Any, parts: list[str]) -> None:
    if not parts or not isinstance(node, dict):
        return
    if node.get("object") == "list" and parts[0] == "data":
        for item in node["data"]:
            _expand(store, item, parts[1:])
        return
    value = node.get(parts[0])
    if isinstance(value, str) and value in store.objects:
        node[parts[0]] = value = copy.deepcopy(store.objects[value])
    _expand(store, value, parts[1:])
