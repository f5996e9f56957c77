"""A stateful fake of the Zuora v1 REST endpoints the Zuora billing provider uses, on
127.0.0.1 and a random port: JSON bodies, `success: false` answers with 8-digit reason
codes, OAuth client-credentials tokens that expire, and Idempotency-Key handling as Zuora
documents it (the first answer, whatever it was, is stored and replayed for the same
method, path and body; the key with another request: 422; the key still in progress: 409).

Tokens: `token_lifetime` seconds each (Zuora says about an hour); `expire_tokens()` revokes
every token issued so far, so the next request with one is a 401 (a token dying mid-run).

Faults come through tests/fakes/faults.py's controls (`inject`, `clear`) and the Stripe
fake's path-pattern helpers (`fail`, `rate_limit`, `hang`, `drop`), which this fake shares.
`log` records every request with its Idempotency-Key; `executed(method, pattern)` counts
those that ran (not replays, not refusals of the key, not injected faults).
"""

from __future__ import annotations

import asyncio
import copy
import fnmatch
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes.loopback import serve
from tests.fakes.stripe.faults import Faults
from tests.fakes.zuora import accounts, billing, catalog, orders
from tests.fakes.zuora.store import Call, Handler, Obj, Router, Store, ZuoraFault

CLIENT_ID = "fake-zuora-client"
CLIENT_SECRET = "fake-zuora-secret-0123456789"


@dataclass
class Logged:
    method: str
    path: str
    key: str | None
    body: Any
    status: int = 0
    replayed: bool = False
    faulted: bool = False
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class _Stored:
    request: tuple[str, str, str]
    status: int
    body: Obj


class ZuoraFake:
    def __init__(self) -> None:
        self.store = Store()
        self.faults = Faults()
        self.log: list[Logged] = []
        self.token_lifetime = 3600
        self.tokens: dict[str, float] = {}  # token -> when it expires (time.monotonic)
        self._stored: dict[str, _Stored] = {}
        self._in_flight: set[str] = set()
        self._runner: web.AppRunner | None = None
        self.url = ""
        router = Router()
        for module in (accounts, catalog, orders, billing):
            module.register(router)
        self.app = web.Application()
        self.app.router.add_post("/oauth/token", self._token)
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
        """Forget everything: objects, stored keys, faults, tokens and the log."""
        self.store = Store()
        self.faults = Faults()
        self.log.clear()
        self.tokens.clear()
        self._stored.clear()
        self._in_flight.clear()
        self.token_lifetime = 3600

    # -- what tests read and control -------------------------------------------------------

    def expire_tokens(self) -> None:
        self.tokens.clear()

    def executed(self, method: str, pattern: str) -> int:
        return sum(
            1
            for entry in self.log
            if entry.method == method
            and fnmatch.fnmatchcase(entry.path, pattern)
            and not entry.replayed
            and not entry.faulted
            and 200 <= entry.status < 300
        )

    def count(self, kind: str) -> int:
        kinds = {
            "account": self.store.accounts,
            "subscription": self.store.subscriptions,
            "invoice": self.store.invoices,
            "payment": self.store.payments,
            "refund": self.store.refunds,
            "order": self.store.orders,
        }
        return len(kinds[kind])

    # -- the wire --------------------------------------------------------------------------

    async def _token(self, request: web.Request) -> web.Response:
        form = await request.post()
        entry = Logged(request.method, request.path, None, dict(form))
        self.log.append(entry)
        if (form.get("client_id"), form.get("client_secret"), form.get("grant_type")) != (
            CLIENT_ID,
            CLIENT_SECRET,
            "client_credentials",
        ):
            return _answer(entry, 401, {"message": "Invalid client credentials"})
        token = secrets.token_hex(16)
        self.tokens[token] = time.monotonic() + self.token_lifetime
        body = {
            "access_token": token,
            "token_type": "bearer",
            "expires_in": self.token_lifetime,
            "scope": "entity.fake platform.write",
            "jti": secrets.token_hex(8),
        }
        return _answer(entry, 200, body)

    def _endpoint(self, handler: Handler) -> Callable[[web.Request], Any]:
        async def endpoint(request: web.Request) -> web.StreamResponse:
            body = await request.json() if request.can_read_body else {}
            key = request.headers.get("Idempotency-Key")
            entry = Logged(request.method, request.path, key, body, headers=dict(request.headers))
            self.log.append(entry)
            if not self._authorized(request):
                entry.faulted = True
                return _answer(entry, 401, _refusal(90000011, "Authentication error"))
            fault = self.faults.take(request.path)
            if fault is not None and fault.kind in ("error", "reject", "rate_limit"):
                entry.faulted = True
                return _fault_answer(entry, fault.kind, fault.status, fault.retry_after)
            hang = fault.seconds if fault is not None and fault.kind == "hang" else 0.0
            call = Call(
                self.store, body if isinstance(body, dict) else {}, dict(request.match_info)
            )
            status, answer = await self._run(entry, handler, call, hang)
            if fault is not None and fault.kind == "drop":
                return await _drop(request, entry, status, answer)
            return _answer(entry, status, answer)

        return endpoint

    def _authorized(self, request: web.Request) -> bool:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        expires = self.tokens.get(token)
        return scheme == "Bearer" and expires is not None and time.monotonic() < expires

    async def _run(
        self, entry: Logged, handler: Handler, call: Call, hang: float
    ) -> tuple[int, Obj]:
        """Replay, refuse or run; a "hang" fault waits `hang` seconds with the key in flight
        (a second request with it meanwhile is a 409) before the request runs."""
        key = entry.key
        signature = (entry.method, entry.path, json.dumps(entry.body, sort_keys=True))
        if key is not None:
            stored = self._stored.get(key)
            if stored is not None:
                if stored.request != signature:
                    entry.faulted = True
                    return 422, _refusal(
                        90000020,
                        "The idempotency key has been used with a different request body.",
                    )
                entry.replayed = True
                return stored.status, copy.deepcopy(stored.body)
            if key in self._in_flight:
                entry.faulted = True
                return 409, _refusal(
                    90000050, "A request with this idempotency key is in progress."
                )
            self._in_flight.add(key)
        try:
            if hang:
                await asyncio.sleep(hang)
            status, answer = 200, copy.deepcopy(handler(call))
        except ZuoraFault as fault:
            status, answer = fault.status, fault.body()
        finally:
            if key is not None:
                self._in_flight.discard(key)
        if key is not None:
            self._stored[key] = _Stored(signature, status, copy.deepcopy(answer))
        return status, answer

    async def _unknown(self, request: web.Request) -> web.Response:
        message = f"No route for {request.method} {request.path}"
        return web.json_response(_refusal(50000045, message), status=404)


def _refusal(code: int, message: str) -> Obj:
    return {
        "success": False,
        "processId": "FAKE0000PROCESS",
        "reasons": [{"code": code, "message": message}],
    }


def _answer(
    entry: Logged, status: int, body: Obj, headers: dict[str, str] | None = None
) -> web.Response:
    entry.status = status
    return web.Response(
        status=status, text=json.dumps(body), content_type="application/json", headers=headers
    )


def _fault_answer(entry: Logged, kind: str, status: int, retry_after: float) -> web.Response:
    if kind == "reject":
        return _answer(entry, 400, _refusal(50000020, "An injected rejection."))
    if kind == "rate_limit":
        body = _refusal(50000070, "Too many requests: the request limit is exceeded.")
        return _answer(entry, 429, body, {"Retry-After": f"{retry_after:g}"})
    return _answer(entry, status, _refusal(50000060, "An internal error occurred."))


async def _drop(request: web.Request, entry: Logged, status: int, body: Obj) -> web.StreamResponse:
    """Headers and half the body, then the connection is cut (the effect applied)."""
    entry.status = status
    payload = json.dumps(body).encode()
    response = web.StreamResponse(status=status, headers={"Content-Type": "application/json"})
    response.content_length = len(payload)
    await response.prepare(request)
    await response.write(payload[: len(payload) // 2])
    assert request.transport is not None
    request.transport.abort()
    return response
