"""The SDK client of the Stripe provider: one `StripeClient` per provider, built from
`StripeSettings`, speaking through `stripe.AIOHTTPClient` (the SDK's httpx client warns on
every request), closed by `aclose`. Nothing is configured on the `stripe` module itself."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

import aiohttp
import stripe

from app.providers.billing.stripe import errors
from app.providers.errors import ProviderNotFound

T = TypeVar("T")

# The API version every request names (the SDK's own pin for 16.x); objects are read as this
# version shapes them (e.g. an invoice's payments are InvoicePayment objects).
API_VERSION = "2026-10-28.endive"


@dataclass(frozen=True, slots=True)
class StripeSettings:
    """`timeout_seconds` bounds one attempt; the SDK retries a connection error, a timeout, a
    409 or a 5xx `max_network_retries` times with the same Idempotency-Key (safe: Stripe
    replays the stored answer), sleeping about 0.5 s first. A 429 is retried once here when
    its Retry-After is at most `max_retry_after_seconds`. Defaults: 3 s x 2 attempts + 0.5 s,
    so one request gives up within about 6.5 s, well inside the app's 15 s request limit."""

    api_key: str
    api_base: str = "https://api.stripe.com"
    timeout_seconds: float = 3.0
    max_network_retries: int = 1
    max_retry_after_seconds: float = 2.0
    # Batch reads fetch each ref on its own; at most this many at a time.
    read_concurrency: int = 8
    # Under the app's test clock (TEST_CLOCK=true): customers on Stripe test clocks that
    # follow it (test_clocks.py); how long an advance waits for them to be ready, polling.
    test_clocks: bool = False
    clock_ready_seconds: float = 10.0
    clock_poll_seconds: float = 0.5


class _AiohttpClient(stripe.AIOHTTPClient):
    """`AIOHTTPClient` reads the response body outside its error handling, so a connection
    dropped mid-body or a read timeout would escape as a bare aiohttp error and skip the SDK's
    retries; here the body is read inside it, as one more retryable connection error."""

    async def request_async(
        self, method: str, url: str, headers: Mapping[str, str], post_data: Any = None
    ) -> tuple[bytes, int, Mapping[str, str]]:
        content, status, response_headers = await self.request_stream_async(
            method, url, headers, post_data=post_data
        )
        try:
            body = await content.read()
        except Exception as error:  # aiohttp.ClientError, TimeoutError
            self._handle_request_error(error)
        return body, status, response_headers

    async def close_async(self) -> None:
        if self._cached_session is not None:  # the session is made on the first request
            await super().close_async()


@dataclass(frozen=True, slots=True)
class StripeApi:
    """The client, its HTTP session and the settings, as the area modules use them."""

    client: stripe.StripeClient
    http: _AiohttpClient
    settings: StripeSettings

    async def call(self, request: Callable[[], Awaitable[T]]) -> T:
        """One SDK request; its errors come out as provider errors (errors.py)."""
        return await errors.call(request, max_retry_after=self.settings.max_retry_after_seconds)

    async def read_each(
        self, refs: Sequence[str], read: Callable[[str], Awaitable[T | None]]
    ) -> dict[str, T]:
        """Read each distinct ref, a few at a time; a ref Stripe does not know (or `read`
        answers None for) is left out, as the protocol's batch reads want."""
        gate = asyncio.Semaphore(self.settings.read_concurrency)

        async def one(ref: str) -> tuple[str, T | None]:
            async with gate:
                try:
                    return ref, await read(ref)
                except ProviderNotFound:
                    return ref, None

        pairs = await asyncio.gather(*(one(ref) for ref in dict.fromkeys(refs)))
        return {ref: found for ref, found in pairs if found is not None}

    async def aclose(self) -> None:
        await self.http.close_async()


def connect(settings: StripeSettings) -> StripeApi:
    http = _AiohttpClient(timeout=aiohttp.ClientTimeout(total=settings.timeout_seconds))
    client = stripe.StripeClient(
        settings.api_key,
        stripe_version=API_VERSION,
        base_addresses={"api": settings.api_base},
        max_network_retries=settings.max_network_retries,
        http_client=http,
    )
    return StripeApi(client=client, http=http, settings=settings)


async def rest_of(
    api: StripeApi, listed: Mapping[str, Any], more: Callable[[str], Awaitable[Any]]
) -> list[dict[str, Any]]:
    """Every object of a list Stripe answered a page of: `more(last_id)` gets the next page."""
    data = [dict(obj) for obj in listed.get("data", [])]
    has_more = bool(listed.get("has_more"))
    while has_more and data:
        page = (await api.call(partial(more, str(data[-1]["id"])))).to_dict()
        data += page.get("data", [])
        has_more = bool(page.get("has_more"))
    return data
