"""A stateful fake of the product's provisioning receiver (docs/providers.md "Provisioning over
HTTP"): an aiohttp server on 127.0.0.1 with a random port that speaks GitLab's provision call.

- `POST {prefix}/namespaces/:id/provision` (and `instances/:uuid/provision`): refused with
  401 unless `X-Fulfillment-Signature` verifies over the method, the path and the raw body
  (a body signed for another path is refused); 400 without an Idempotency-Key or a
  `provision` object; stores the body's `provision` per deployment and
  answers `{"applied", "pushes"}` (`pushes` counts the upserts that changed something).
  A key seen before replays its first answer; with another body it is refused with 409.
  Only successful answers are kept per key, so a retry after a failure is tried afresh.
- `GET` of the same path (signed with an empty body): `{"provision": ...}` or 404.
- `inject(fault, times=n)`: the next n requests fail: 400 (REJECT), 500 (SERVER_ERROR),
  422 with the failed sections (PARTIAL: nothing is applied), an answer that never comes
  (TIMEOUT: applied, then the server hangs) or a closed connection (DROP: applied, then the
  connection is cut), so a lost answer's retry must be recognised by its key.
- `answer_with(body)`: the next upsert is applied but answered 200 with `body` (a broken
  receiver's receipt) instead of its own.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from app.providers.signing import InvalidSignature, verify_request_signature
from tests.fakes.faults import Fault
from tests.fakes.loopback import serve

PREFIX = "/api/v4/internal/gitlab_subscriptions"
_ROUTE = PREFIX + "/{kind:namespaces|instances}/{id}/provision"


@dataclass(frozen=True, slots=True)
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class FakeReceiver:
    def __init__(self, secret: str, *, failing_sections: tuple[str, ...] = ("storage",)) -> None:
        self.secret = secret
        self.failing_sections = failing_sections
        self.provisions: dict[str, dict[str, Any]] = {}
        self.pushes: dict[str, int] = {}
        self.received: list[Received] = []
        self.refused: list[Received] = []
        self._replies: dict[str, tuple[str, dict[str, Any]]] = {}
        self._faults: deque[Fault] = deque()
        self._receipts: deque[Any] = deque()
        self._closing = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post(_ROUTE, self._handle)
        app.router.add_get(_ROUTE, self._handle)
        self._runner, self.url = await serve(app, shutdown_timeout=0.5)
        return self.url

    async def __aenter__(self) -> FakeReceiver:
        await self.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    async def close(self) -> None:
        self._closing.set()
        if self._runner is not None:
            await self._runner.cleanup()

    def inject(self, fault: Fault, *, times: int = 1) -> None:
        self._faults.extend([fault] * times)

    def answer_with(self, body: Any) -> None:
        self._receipts.append(body)

    def clear(self) -> None:
        self._faults.clear()

    def posts(self) -> list[Received]:
        return [each for each in self.received if each.method == "POST"]

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        received = Received(request.method, request.path, dict(request.headers), raw)
        self.received.append(received)
        try:
            verify_request_signature(
                request.method,
                request.rel_url.raw_path,
                raw,
                request.headers.get("X-Fulfillment-Signature"),
                self.secret,
                now=time.time(),
            )
        except InvalidSignature as error:
            self.refused.append(received)
            return web.json_response({"message": f"401 Unauthorized: {error}"}, status=401)
        fault = self._faults.popleft() if self._faults else None
        if fault is Fault.REJECT:
            return web.json_response({"message": "400 Bad request"}, status=400)
        if fault is Fault.SERVER_ERROR:
            return web.json_response({"message": "500 Internal Server Error"}, status=500)
        if fault is Fault.PARTIAL:
            return self._partial(raw)
        ref = request.match_info["id"]
        answer = self._read(ref) if request.method == "GET" else self._upsert(request, ref, raw)
        if fault is Fault.TIMEOUT:
            await self._closing.wait()
        if fault is Fault.DROP:
            assert request.transport is not None
            request.transport.abort()
        if request.method == "POST" and self._receipts:
            return web.json_response(self._receipts.popleft())
        return answer

    def _read(self, ref: str) -> web.Response:
        if ref not in self.provisions:
            return web.json_response({"message": "404 Namespace Not Found"}, status=404)
        return web.json_response({"provision": self.provisions[ref]})

    def _upsert(self, request: web.Request, ref: str, raw: bytes) -> web.Response:
        key = request.headers.get("Idempotency-Key")
        if not key:
            return web.json_response({"message": "Idempotency-Key is missing"}, status=400)
        digest = hashlib.sha256(raw).hexdigest()
        if key in self._replies:
            first_digest, receipt = self._replies[key]
            if first_digest != digest:
                message = "Idempotency-Key reused with another body"
                return web.json_response({"message": message}, status=409)
            return web.json_response(receipt)
        provision = _provision(raw)
        if provision is None:
            return web.json_response({"error": "provision is missing"}, status=400)
        applied = self.provisions.get(ref) != provision
        if applied:
            self.provisions[ref] = provision
            self.pushes[ref] = self.pushes.get(ref, 0) + 1
        receipt = {"applied": applied, "pushes": self.pushes.get(ref, 0)}
        self._replies[key] = (digest, receipt)
        return web.json_response(receipt)

    def _partial(self, raw: bytes) -> web.Response:
        """Shaped like the payload of GitLab's provision service: one status per section."""
        sent = _provision(raw) or {}
        sections = {
            name: {"status": "error", "message": f"{name} could not be saved"}
            if name in self.failing_sections
            else {"status": "success"}
            for name in sent
        }
        message = ", ".join(f"{name} could not be saved" for name in self.failing_sections)
        return web.json_response({"message": message, "sections": sections}, status=422)


def _provision(raw: bytes) -> dict[str, Any] | None:
    try:
        provision = json.loads(raw).get("provision")
    except (ValueError, AttributeError):
        return None
    return provision if isinstance(provision, dict) else None
