"""A stateful fake of the Stripe API endpoints the Stripe billing provider uses, on
127.0.0.1 and a random port, speaking Stripe's wire format: form-encoded params, JSON
objects, {"error": {...}} answers, `expand[]`, and Idempotency-Key replay (the same key and
the same endpoint and params: the stored answer, errors included; other params or another
endpoint: 400 idempotency_error; a key in flight: 409).

Time stands still unless a test moves `store.clock`: nothing renews or expires on its own,
except under a test clock (clocks.py): advancing one moves its customers' subscriptions.
`log` records every request; `executed(method, pattern)` counts those that ran (not replays,
not injected faults), so a test can prove a write happened once.
"""

from __future__ import annotations

import asyncio
import copy
import fnmatch
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes.loopback import serve
from tests.fakes.stripe import (
    catalog,
    charges,
    clocks,
    customers,
    events,
    invoices,
    subscriptions,
)
from tests.fakes.stripe.faults import Faults
from tests.fakes.stripe.forms import parse
from tests.fakes.stripe.store import Obj, Store, StripeFault

TEST_KEY = "sk_test_fake_0123456789"


@dataclass
class Call:
    """One request as a resource handler sees it."""

    store: Store
    params: Obj
    ids: dict[str, str]
    path: str

    @property
    def expand(self) -> list[str]:
        return list(self.params.get("expand") or [])


Handler = Callable[[Call], Obj]


@dataclass
class Logged:
    method: str
    path: str
    key: str | None
    params: Obj
    version: str | None = None
    status: int = 0
    replayed: bool = False
    faulted: bool = False


@dataclass
class _Stored:
    method: str
    path: str
    params: Obj
    status: int
    body: Obj


@dataclass
class Router:
    routes: list[tuple[str, str, Handler]] = field(default_factory=list)

    def get(self, path: str, handler: Handler) -> None:
        self.routes.append(("GET", path, handler))

    def post(self, path: str, handler: Handler) -> None:
        self.routes.append(("POST", path, handler))

    def delete(self, path: str, handler: Handler) -> None:
        self.routes.append(("DELETE", path, handler))


class StripeFake:
    def __init__(self, api_key: str = TEST_KEY) -> None:
        self.api_key = api_key
        self.store = Store()
        self.faults = Faults()
        self.log: list[Logged] = []
        self._stored: dict[str, _Stored] = {}
        self._in_flight: set[str] = set()
        self._runner: web.AppRunner | None = None
        self.url = ""
        router = Router()
        for module in (customers, catalog, subscriptions, invoices, charges, events, clocks):
            module.register(router)
        self.app = web.Application()
        for method, path, handler in router.routes:
            self.app.router.add_route(method, path, self._endpoint(handler))
        self.app.router.add_route("*", "/{tail:.*}", self._unknown)

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> str:
        self._runner, self.url = await serve(self.app)
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def reset(self) -> None:
        """Forget everything: objects, events, stored keys, faults and the log."""
        self.store = Store()
        self.faults = Faults()
        self.log.clear()
        self._stored.clear()
        self._in_flight.clear()

    # -- what tests read -------------------------------------------------------------------

    def executed(self, method: str, pattern: str) -> int:
        return sum(
            1
            for entry in self.log
            if entry.method == method
            and fnmatch.fnmatchcase(entry.path, pattern)
            and not entry.replayed
            and not entry.faulted
        )

    def objects(self, object: str) -> list[Obj]:
        """The live objects of a kind (a deleted customer is left out)."""
        return [obj for obj in self.store.all(object) if not obj.get("deleted")]

    # -- the wire --------------------------------------------------------------------------

    def _endpoint(self, handler: Handler) -> Callable[[web.Request], Any]:
        async def endpoint(request: web.Request) -> web.StreamResponse:
            pairs = (await request.post()).items() if request.method == "POST" else ()
            params = parse([*request.query.items(), *((k, str(v)) for k, v in pairs)])
            key = request.headers.get("Idempotency-Key") if request.method == "POST" else None
            entry = Logged(
                request.method, request.path, key, params, request.headers.get("Stripe-Version")
            )
            self.log.append(entry)
            if request.headers.get("Authorization") != f"Bearer {self.api_key}":
                return _answer(entry, 401, _auth_error())
            fault = self.faults.take(request.path)
            if fault is not None and fault.kind in ("error", "reject", "rate_limit"):
                entry.faulted = True
                return _fault_answer(entry, fault.kind, fault.status, fault.retry_after)
            if fault is not None and fault.kind == "hang":
                await asyncio.sleep(fault.seconds)
            call = Call(self.store, params, dict(request.match_info), request.path)
            status, body = self._run(entry, handler, call)
            if fault is not None and fault.kind == "drop":
                return await _drop(request, entry, status, body)
            return _answer(entry, status, body)

        return endpoint

    def _run(self, entry: Logged, handler: Handler, call: Call) -> tuple[int, Obj]:
        key = entry.key
        if key is not None:
            stored = self._stored.get(key)
            if stored is not None:
                if (stored.method, stored.path, stored.params) != (
                    entry.method,
                    entry.path,
                    entry.params,
                ):
                    entry.faulted = True
                    return 400, _idempotency_error(key)
                entry.replayed = True
                return stored.status, stored.body
            if key in self._in_flight:
                entry.faulted = True
                return 409, _idempotency_error(key, in_flight=True)
            self._in_flight.add(key)
        call.store.request = {"id": call.store.new_id("req"), "idempotency_key": key}
        call.store.frozen = None  # real time, until the request touches a test clock's object
        try:
            status, body, saved = 200, copy.deepcopy(handler(call)), True
        except StripeFault as fault:
            status, body, saved = fault.status, fault.body(), fault.saved
        finally:
            if key is not None:
                self._in_flight.discard(key)
        if key is not None and saved:
            self._stored[key] = _Stored(entry.method, entry.path, entry.params, status, body)
        return status, body

    async def _unknown(self, request: web.Request) -> web.Response:
        message = f"Unrecognized request URL ({request.method}: {request.path})."
        return web.json_response(
            {"error": {"type": "invalid_request_error", "message": message}}, status=404
        )


def _answer(
    entry: Logged, status: int, body: Obj, headers: dict[str, str] | None = None
) -> web.Response:
    entry.status = status
    all_headers = {"Request-Id": "req_fake", **(headers or {})}
    if entry.replayed:
        all_headers["Idempotent-Replayed"] = "true"
    return web.Response(
        status=status, text=json.dumps(body), content_type="application/json", headers=all_headers
    )


def _fault_answer(entry: Logged, kind: str, status: int, retry_after: float) -> web.Response:
    if kind == "reject":
        body = {
            "error": {
                "type": "invalid_request_error",
                "code": "parameter_invalid_empty",
                "message": "An injected rejection.",
                "param": "fault",
            }
        }
        return _answer(entry, 400, body)
    if kind == "rate_limit":
        body = {
            "error": {
                "type": "invalid_request_error",
                "code": "rate_limit",
                "message": "Too many requests hit the API too quickly.",
            }
        }
        return _answer(entry, 429, body, {"Retry-After": f"{retry_after:g}"})
    body = {"error": {"type": "api_error", "message": "An unknown error occurred"}}
    return _answer(entry, status, body, {"Stripe-Should-Retry": "true"})


async def _drop(request: web.Request, entry: Logged, status: int, body: Obj) -> web.StreamResponse:
    """Headers and half the body, then the connection is cut."""
    entry.status = status
    payload = json.dumps(body).encode()
    response = web.StreamResponse(status=status, headers={"Content-Type": "application/json"})
    response.content_length = len(payload)
    await response.prepare(request)
    await response.write(payload[: len(payload) // 2])
    assert request.transport is not None
    request.transport.abort()
    return response


def _auth_error() -> Obj:
    return {"error": {"type": "invalid_request_error", "message": "Invalid API Key provided."}}


def _idempotency_error(key: str, *, in_flight: bool = False) -> Obj:
    message = (
        "There is currently another in-progress request using this Idempotent Key."
        if in_flight
        else "Keys for idempotent requests can only be used with the same parameters they were "
        f"first used with. Try using a key other than '{key}' if you meant to execute a "
        "different request."
    )
    return {"error": {"type": "idempotency_error", "message": message}}
