"""The HTTP provisioning target (PROVISIONING_TARGET=http): a thin aiohttp client that
upserts each deployment's entitlement at the product with a signed POST
(docs/providers.md "Provisioning over HTTP"; the body is GitLab's provision call, see _gitlab.py).

Every request carries `X-Fulfillment-Signature` (app/providers/signing.py: the provisioning
scheme, over the method, the URL's path and the raw body, an empty one for a GET) so the
receiver can tell it is us, and that the request was meant for that path. A POST
also carries `Idempotency-Key`: the caller's key and the entitlement's digest, so a retried
POST of the same state is recognised, while a retry of the same outbox message that carries
a newer state (rebuilt at push time) is a new request rather than a reused key.

Answers: 2xx is done (the receiver says in `applied` and `pushes` whether it changed
anything; a malformed receipt is ProviderUnavailable); 422 is a partial failure (some
sections were not applied): `PartialProvisioning`, a retryable ProviderUnavailable naming
them, so the outbox retries the whole upsert with backoff; 408, 429 and 5xx, timeouts,
connection failures and an answer over 1 MiB are ProviderUnavailable; any other 4xx is
ProviderRejected. `get` reads each deployment's last provision body back with a GET of the
same path (404: none); the product has no batch read, so the GETs run concurrently.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from app.providers.errors import ProviderRejected, ProviderUnavailable
from app.providers.provisioning import _gitlab as wire
from app.providers.provisioning._validation import check_push
from app.providers.provisioning.records import Entitlement, ProvisioningResult
from app.providers.signing import request_signature_header

PROVIDER = "http"
SIGNATURE_HEADER = "X-Fulfillment-Signature"
MAX_ANSWER_BYTES = 1024 * 1024  # read at most this much of an answer
_RETRYABLE = frozenset({408, 429})
_REJECTION_CODES = {
    400: "invalid_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    409: "idempotency_key_reused",
}


@dataclass(frozen=True, slots=True)
class HttpTargetSettings:
    url: str  # the receiver's base URL; the provision paths are appended to it
    signing_secret: str
    timeout_seconds: float = 10.0


class PartialProvisioning(ProviderUnavailable):
    """422: the receiver applied some sections of the upsert and failed `sections`."""

    def __init__(self, sections: tuple[str, ...], message: str) -> None:
        named = ", ".join(sections) or "unnamed sections"
        super().__init__(PROVIDER, f"partial provisioning, failed: {named} ({message})")
        self.sections = sections


@dataclass(frozen=True, slots=True)
class _Answer:
    status: int
    body: Any


class HttpProvisioningTarget:
    name = PROVIDER

    def __init__(
        self, settings: HttpTargetSettings, *, wall_clock: Callable[[], float] = time.time
    ) -> None:
        self._settings = settings
        self._base = settings.url.rstrip("/")
        # The signature's timestamp is checked against the receiver's clock, so it is the
        # wall clock's, never the (test) clock the rest of the app may run on.
        self._wall_clock = wall_clock
        self._session: aiohttp.ClientSession | None = None

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def push(self, entitlement: Entitlement, *, idempotency_key: str) -> ProvisioningResult:
        check_push(entitlement, idempotency_key)
        body = json.dumps(wire.provision_body(entitlement), separators=(",", ":")).encode()
        key = f"{idempotency_key}:{entitlement.digest()[:16]}"
        path = wire.provision_path(entitlement.deployment_ref)
        answer = await self._send("POST", path, body, {"Idempotency-Key": key})
        if answer.status == 422:
            raise _partial(answer.body)
        _raise_for(answer)
        return _receipt(entitlement.deployment_ref, answer.body)

    async def get(self, deployment_refs: Sequence[str]) -> Mapping[str, Entitlement]:
        refs = sorted(set(deployment_refs))
        found = await asyncio.gather(*(self._get_one(ref) for ref in refs))
        return {
            ref: entitlement
            for ref, entitlement in zip(refs, found, strict=True)
            if entitlement is not None
        }

    async def _get_one(self, deployment_ref: str) -> Entitlement | None:
        answer = await self._send("GET", wire.provision_path(deployment_ref), b"", {})
        if answer.status == 404:
            return None
        _raise_for(answer)
        try:
            return wire.entitlement_from(deployment_ref, answer.body)
        except (KeyError, TypeError, ValueError) as error:
            raise ProviderUnavailable(PROVIDER, f"unreadable provision body: {error}") from error

    async def _send(
        self, method: str, path: str, body: bytes, headers: Mapping[str, str]
    ) -> _Answer:
        url = self._base + path
        signature = request_signature_header(
            method, urlsplit(url).path, body, self._settings.signing_secret, int(self._wall_clock())
        )
        signed = {"Content-Type": "application/json", SIGNATURE_HEADER: signature, **headers}
        try:
            # No redirects: the signed request goes to the configured receiver or nowhere.
            async with self._client().request(
                method, url, data=body or None, headers=signed, allow_redirects=False
            ) as response:
                return _Answer(response.status, _json(await _capped(response)))
        except TimeoutError as error:
            seconds = self._settings.timeout_seconds
            raise ProviderUnavailable(PROVIDER, f"no answer within {seconds:g}s") from error
        except aiohttp.ClientError as error:
            raise ProviderUnavailable(PROVIDER, f"cannot reach the target: {error}") from error

    def _client(self) -> aiohttp.ClientSession:
        """Created at first use, inside the running event loop, and kept for the process."""
        if self._session is None:
            timeout = aiohttp.ClientTimeout(total=self._settings.timeout_seconds)
            self._session = aiohttp.ClientSession(timeout=timeout, raise_for_status=False)
        return self._session


async def _capped(response: aiohttp.ClientResponse) -> bytes:
    """The answer's body, given up on past MAX_ANSWER_BYTES (a receipt is tiny: a receiver
    sending more is broken, and is not read into memory)."""
    chunks, size = [], 0
    async for chunk in response.content.iter_any():
        size += len(chunk)
        if size > MAX_ANSWER_BYTES:
            raise ProviderUnavailable(PROVIDER, f"answer over {MAX_ANSWER_BYTES} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return raw.decode(errors="replace")[:200]


def _message(body: Any) -> str:
    if isinstance(body, dict):
        return str(body.get("message") or body.get("error") or body)
    return str(body or "no body")


def _raise_for(answer: _Answer) -> None:
    status = answer.status
    if 200 <= status < 300:
        return
    message = f"HTTP {status}: {_message(answer.body)}"
    if status >= 500 or status in _RETRYABLE:
        raise ProviderUnavailable(PROVIDER, message)
    if 400 <= status < 500:
        raise ProviderRejected(PROVIDER, _REJECTION_CODES.get(status, f"http_{status}"), message)
    raise ProviderUnavailable(PROVIDER, f"unexpected answer {message}")


def _receipt(deployment_ref: str, body: Any) -> ProvisioningResult:
    """A 2xx's receipt. An empty answer (a receiver that says nothing more) counts as
    applied; anything but `{"applied": <bool>, "pushes": <int >= 0>}` (either may be left
    out) is a broken receiver's answer: ProviderUnavailable, retried, never guessed at."""
    receipt = {} if body is None else body
    applied = receipt.get("applied", True) if isinstance(receipt, dict) else None
    pushes = receipt.get("pushes", 0) if isinstance(receipt, dict) else None
    if not isinstance(applied, bool) or type(pushes) is not int or pushes < 0:
        shown = json.dumps(body)[:200] if not isinstance(body, str) else body[:200]
        raise ProviderUnavailable(PROVIDER, f"malformed receipt in a 2xx answer: {shown}")
    return ProvisioningResult(deployment_ref=deployment_ref, applied=applied, pushes=pushes)


def _partial(body: Any) -> PartialProvisioning:
    """The sections whose status is "error" in the answer's `sections` (shaped like the
    payload GitLab's provision service builds: one {status, message} per section)."""
    sections = body.get("sections") if isinstance(body, dict) else None
    failed: tuple[str, ...] = ()
    if isinstance(sections, dict):
        failed = tuple(
            name
            for name in wire.SECTIONS
            if isinstance(sections.get(name), dict) and sections[name].get("status") == "error"
        )
    return PartialProvisioning(failed, _message(body))
