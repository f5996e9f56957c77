"""Signed POSTs of integration events to subscribers (docs/api-guide.md "Integration events").

The body is signed with Stripe's webhook scheme (app/providers/signing.py: the HMAC of
`<t>.<body>`), sent as `Fulfillment-Signature: t=...,v1=...`, with the event's id in
`Fulfillment-Event-Id` so a receiver can drop a delivery it has seen. One POST is bounded by
a total timeout, never follows a redirect, reads at most 64 KiB of the answer (a receiver
has nothing to tell us but its status), and, unless `allow_private`, reaches public addresses
only (app/providers/network.py). Nothing here raises for a failed delivery: the
outcome (status, or the error when there was no answer, and the time taken) is returned for
the caller to log and retry."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import aiohttp

from app.providers.network import PublicOnlyResolver, private_literal
from app.providers.signing import signature_header

SIGNATURE_HEADER = "Fulfillment-Signature"
EVENT_ID_HEADER = "Fulfillment-Event-Id"
EVENT_KIND_HEADER = "Fulfillment-Event-Kind"
MAX_ANSWER_BYTES = 64 * 1024


@dataclass(frozen=True, slots=True)
class Sent:
    status: int | None  # None: no answer (timeout, connection refused or cut)
    error: str | None
    duration_ms: int

    @property
    def delivered(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class WebhookSender:
    def __init__(
        self,
        timeout_seconds: float = 10.0,
        *,
        allow_private: bool = True,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.timeout_seconds = timeout_seconds
        self.allow_private = allow_private
        # The receiver checks the timestamp against its own clock: the wall clock's, never
        # the (test) clock the rest of the app may run on.
        self._wall_clock = wall_clock
        self._session: aiohttp.ClientSession | None = None

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def send(self, url: str, body: bytes, secret: str, event_id: str, kind: str) -> Sent:
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: signature_header(body, secret, int(self._wall_clock())),
            EVENT_ID_HEADER: event_id,
            EVENT_KIND_HEADER: kind,
        }
        started = time.monotonic()
        if not self.allow_private and (host := private_literal(url)) is not None:
            return Sent(None, f"refused: {host} is not a public address", 0)
        try:
            async with self._client().post(
                url, data=body, headers=headers, allow_redirects=False
            ) as response:
                await response.content.read(MAX_ANSWER_BYTES)
                status = response.status
        except TimeoutError:
            return Sent(None, f"no answer within {self.timeout_seconds:g}s", _ms(started))
        except aiohttp.ClientError as error:
            return Sent(None, f"cannot reach the subscriber: {error}"[:500], _ms(started))
        error_text = None if 200 <= status < 300 else f"HTTP {status}"
        return Sent(status, error_text, _ms(started))

    def _client(self) -> aiohttp.ClientSession:
        """Created at first use, inside the running event loop, and kept for the process."""
        if self._session is None:
            timeout = aiohttp.ClientTimeout(total=self.timeout_seconds)
            resolver = None if self.allow_private else PublicOnlyResolver()
            self._session = aiohttp.ClientSession(
                timeout=timeout,
                raise_for_status=False,
                connector=aiohttp.TCPConnector(resolver=resolver),
            )
        return self._session


def _ms(started: float) -> int:
    return round((time.monotonic() - started) * 1000)
