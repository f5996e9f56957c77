"""A thin async client of Zuora's v1 REST API on aiohttp (the official SDK is synchronous).

Authentication is OAuth 2.0 client credentials (`POST /oauth/token`): the bearer token is
kept until `token_margin_seconds` before it expires, and fetched again once when Zuora
answers 401 to it anyway (revoked, or the clocks disagree). One lock makes concurrent
callers share a single refresh: whoever waits on it finds the new token and uses it.

Every write carries the caller's Idempotency-Key (Zuora keeps the first answer for 24 hours,
whatever it was); reads and the order preview carry none. Zuora documents keys for POST and
PATCH; the one PUT here (cancelling an invoice) is idempotent by itself and carries the key
all the same, which a tenant ignores and the fake honours. There are no retries here: a
failed request is a `ProviderUnavailable`, and the outbox sends it again with the same key.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import aiohttp

from app.providers.billing.zuora import errors
from app.providers.errors import ProviderNotFound, ProviderRejected

T = TypeVar("T")
Json = dict[str, Any]

# The API minor version every request names (Zuora-Version), so answers keep their shape.
API_VERSION = "2025-08-12"
_WRITES = ("POST", "PATCH", "PUT")


@dataclass(frozen=True, slots=True)
class ZuoraSettings:
    """`timeout_seconds` bounds one request (the token's included); there is no retry."""

    client_id: str
    client_secret: str
    api_base: str = "https://rest.zuora.com"
    timeout_seconds: float = 5.0
    # A token is refreshed this long before Zuora says it expires.
    token_margin_seconds: float = 60.0
    # Batch reads fetch each ref on its own; at most this many at a time.
    read_concurrency: int = 8


@dataclass(slots=True)
class _Token:
    value: str
    expires_at: float  # on the client's monotonic clock, margin already taken off


class ZuoraApi:
    def __init__(
        self, settings: ZuoraSettings, *, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self.settings = settings
        self._monotonic = monotonic
        self._session: aiohttp.ClientSession | None = None
        self._token: _Token | None = None
        self._refresh = asyncio.Lock()

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    # -- requests ------------------------------------------------------------------------

    async def get(self, path: str, *, ref: str | None = None) -> Json:
        return await self.request("GET", path, ref=ref)

    async def post(
        self,
        path: str,
        body: Mapping[str, Any],
        *,
        key: str,
        ref: str | None = None,
        refusals: Mapping[str, str] | None = None,
    ) -> Json:
        return await self.request("POST", path, body=body, key=key, ref=ref, refusals=refusals)

    async def request(
        self,
        method: str,
        path: str,
        *,
        body: Mapping[str, Any] | None = None,
        key: str | None = None,
        ref: str | None = None,
        refusals: Mapping[str, str] | None = None,
        read_only: bool = False,
    ) -> Json:
        """One request; a `success: false` answer or an error status is raised as a provider
        error (errors.py). A 401 refreshes the token and sends the request once more. Every
        write carries a key; a POST that writes nothing (a preview) says `read_only`."""
        if method in _WRITES and not key and not read_only:
            raise ProviderRejected(errors.PROVIDER, "invalid_request", "a write needs a key")
        token = await self._current_token()
        status, answer, headers = await self._send(method, path, body, key, token)
        if status == 401:
            token = await self._token_after_401(token)
            status, answer, headers = await self._send(method, path, body, key, token)
        if status >= 300 or errors.failed(answer):
            raise errors.from_answer(
                status,
                answer,
                keyed=key is not None,
                retry_after=_retry_after(headers),
                ref=ref,
                refusals=refusals,
            )
        return answer

    async def preview(self, path: str, body: Mapping[str, Any]) -> Json:
        """A POST that only computes (`/v1/orders/preview`): no Idempotency-Key."""
        return await self.request("POST", path, body=body, read_only=True)

    async def read_each(
        self, refs: Sequence[str], read: Callable[[str], Awaitable[T | None]]
    ) -> dict[str, T]:
        """Read each distinct ref, a few at a time; an unknown ref is left out."""
        gate = asyncio.Semaphore(self.settings.read_concurrency)

        async def one(ref: str) -> tuple[str, T | None]:
            async with gate:
                try:
                    return ref, await read(ref)
                except ProviderNotFound:
                    return ref, None

        pairs = await asyncio.gather(*(one(ref) for ref in dict.fromkeys(refs)))
        return {ref: found for ref, found in pairs if found is not None}

    # -- the token -------------------------------------------------------------------------

    async def _current_token(self) -> str:
        token = self._token
        if token is not None and self._monotonic() < token.expires_at:
            return token.value
        async with self._refresh:
            token = self._token
            if token is None or self._monotonic() >= token.expires_at:
                token = await self._fetch_token()
            return token.value

    async def _token_after_401(self, refused: str) -> str:
        async with self._refresh:
            token = self._token
            if token is None or token.value == refused:  # nobody refreshed it meanwhile
                token = await self._fetch_token()
            return token.value

    async def _fetch_token(self) -> _Token:
        form = {
            "client_id": self.settings.client_id,
            "client_secret": self.settings.client_secret,
            "grant_type": "client_credentials",
        }
        started = self._monotonic()
        try:
            async with self._http().post(self._url("/oauth/token"), data=form) as response:
                status, answer = response.status, await _json(response)
        except (aiohttp.ClientError, TimeoutError) as error:
            raise errors.unavailable(error) from error
        if status == 200 and isinstance(answer.get("access_token"), str):
            lifetime = float(answer.get("expires_in") or 0)
            self._token = _Token(
                answer["access_token"], started + lifetime - self.settings.token_margin_seconds
            )
            return self._token
        if status in (400, 401, 403):
            raise ProviderRejected(errors.PROVIDER, "not_authorized", "OAuth token refused")
        raise errors.from_answer(status, answer, keyed=False)

    # -- the wire --------------------------------------------------------------------------

    async def _send(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any] | None,
        key: str | None,
        token: str,
    ) -> tuple[int, Json, Mapping[str, str]]:
        headers = {
            "Authorization": f"Bearer {token}",
            "Zuora-Version": API_VERSION,
            "Accept": "application/json",
        }
        if key is not None:
            headers["Idempotency-Key"] = key
        try:
            async with self._http().request(
                method, self._url(path), json=body, headers=headers
            ) as response:
                return response.status, await _json(response), dict(response.headers)
        except (aiohttp.ClientError, TimeoutError) as error:
            raise errors.unavailable(error) from error

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None:
            timeout = aiohttp.ClientTimeout(total=self.settings.timeout_seconds)
            self._session = aiohttp.ClientSession(timeout=timeout)
        return self._session

    def _url(self, path: str) -> str:
        return f"{self.settings.api_base.rstrip('/')}{path}"


async def _json(response: aiohttp.ClientResponse) -> Json:
    text = await response.text()
    try:
        answer = json.loads(text) if text else {}
    except ValueError:
        return {}
    return answer if isinstance(answer, dict) else {"data": answer}


def _retry_after(headers: Mapping[str, str]) -> float | None:
    value = headers.get("Retry-After")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None
