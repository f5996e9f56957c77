"""A stateful fake of an integration subscriber (docs/api-guide.md "Integration events"): an
aiohttp server on 127.0.0.1 with a random port that receives signed event POSTs, as a receiver
following the recipe in docs/api-guide.md does.

- `POST /hooks/{name}`: refused with 400 unless `Fulfillment-Signature` verifies over the
  raw body with the secret set for `name` (`secrets[name]`, what the subscriber's creation
  answered), within 300 s of the wall clock; then 200, and the event is recorded once per
  event id (`deliveries[name]`, in arrival order); an id seen before is answered 200 again
  and recorded in `duplicates[name]` (the receiver dedupes by `Fulfillment-Event-Id`).
- `inject(fault, times=n, event_id=None)`: the next n POSTs (of that event only, when given)
  fail: 500 (SERVER_ERROR), 400 (REJECT), no answer (TIMEOUT) or a cut connection (DROP);
  `gone(name)`: every POST to `name` is answered 410 Gone from now on.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from app.providers.signing import InvalidSignature, verify_signature
from app.providers.webhooks import EVENT_ID_HEADER, SIGNATURE_HEADER
from tests.fakes.faults import Fault
from tests.fakes.loopback import serve


@dataclass(frozen=True, slots=True)
class Received:
    event_id: str
    headers: dict[str, str]
    raw: bytes

    @property
    def body(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.raw)
        return parsed


class FakeSubscriber:
    def __init__(self) -> None:
        self.secrets: dict[str, str] = {}
        self.reset()
        self._closing = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.base = ""

    def reset(self) -> None:
        self.secrets.clear()
        self.deliveries: dict[str, list[Received]] = defaultdict(list)
        self.duplicates: dict[str, list[Received]] = defaultdict(list)
        self.refused: list[str] = []
        self.attempts: list[str] = []  # every event id POSTed, in order, failed ones too
        self._faults: list[tuple[Fault, str | None]] = []
        self._gone: set[str] = set()

    def url(self, name: str) -> str:
        return f"{self.base}/hooks/{name}"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/hooks/{name}", self._handle)
        self._runner, self.base = await serve(app, shutdown_timeout=0.5)

    async def close(self) -> None:
        self._closing.set()
        if self._runner is not None:
            await self._runner.cleanup()

    def inject(self, fault: Fault, *, times: int = 1, event_id: str | None = None) -> None:
        self._faults.extend([(fault, event_id)] * times)

    def clear(self) -> None:
        self._faults.clear()

    def gone(self, name: str) -> None:
        self._gone.add(name)

    def event_ids(self, name: str) -> list[str]:
        return [each.event_id for each in self.deliveries[name]]

    def _fault_for(self, event_id: str) -> Fault | None:
        for index, (fault, only) in enumerate(self._faults):
            if only is None or only == event_id:
                del self._faults[index]
                return fault
        return None

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        raw = await request.read()
        event_id = request.headers.get(EVENT_ID_HEADER, "")
        self.attempts.append(event_id)
        try:
            secret = self.secrets[name]
            verify_signature(raw, request.headers.get(SIGNATURE_HEADER), secret, now=time.time())
        except (KeyError, InvalidSignature) as error:
            self.refused.append(f"{name}: {error}")
            return web.json_response({"error": "bad signature"}, status=400)
        if name in self._gone:
            return web.json_response({"error": "gone"}, status=410)
        fault = self._fault_for(event_id)
        if fault is Fault.SERVER_ERROR:
            return web.json_response({"error": "internal"}, status=500)
        if fault is Fault.REJECT:
            return web.json_response({"error": "bad request"}, status=400)
        if fault is Fault.TIMEOUT:
            await self._closing.wait()
        if fault is Fault.DROP:
            assert request.transport is not None
            request.transport.abort()
        received = Received(event_id, dict(request.headers), raw)
        seen = event_id in {each.event_id for each in self.deliveries[name]}
        (self.duplicates if seen else self.deliveries)[name].append(received)
        return web.json_response({"received": True})
