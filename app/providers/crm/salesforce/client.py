"""The HTTP side of the Salesforce provider: one aiohttp session per provider (made at first
use, closed by `aclose`), the OAuth session (auth.py) obtained once and shared by concurrent
calls, and the REST calls the areas make: `call` (one request), `query` (SOQL, every page
through `nextRecordsUrl`) and `composite` (subrequests in one transaction with allOrNone).

Every answer's `Sforce-Limit-Info: api-usage=used/limit` is kept (`api_usage`) and logged;
a warning once 90% of the org's daily limit is used.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import aiohttp

from app.providers.crm.salesforce import auth
from app.providers.crm.salesforce.errors import (
    INVALID_SESSION,
    PROVIDER,
    ApiError,
    translate,
)
from app.providers.crm.salesforce.settings import SalesforceSettings
from app.providers.errors import ProviderRejected, ProviderUnavailable

log = logging.getLogger("app.providers.salesforce")

LIMIT_HEADER = "Sforce-Limit-Info"
_USAGE = re.compile(r"api-usage=(\d+)/(\d+)")
_WARN_AT = 0.9


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    body: Any


@dataclass(frozen=True, slots=True)
class SubRequest:
    method: str
    url: str  # from /services/data/...
    reference_id: str
    body: Mapping[str, Any] | None = None


class SalesforceApi:
    def __init__(
        self, settings: SalesforceSettings, *, wall_clock: Callable[[], float] = time.time
    ) -> None:
        self.settings = settings
        # The assertion's exp is checked by Salesforce's clock: the wall clock, never a test's.
        self._wall_clock = wall_clock
        self._http: aiohttp.ClientSession | None = None
        self._session: auth.Session | None = None
        self._authenticating = asyncio.Lock()
        self._usage: tuple[int, int] | None = None

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None

    def api_usage(self) -> tuple[int, int] | None:
        """(used, limit) of the org's daily API requests, as of the last answer."""
        return self._usage

    def data_path(self, suffix: str) -> str:
        return f"/services/data/{self.settings.api_version}{suffix}"

    def sobject_path(self, sobject: str, field: str | None = None, value: str = "") -> str:
        """/sobjects/{sobject}, or the record whose external id `field` is `value`."""
        if field is None:
            return self.data_path(f"/sobjects/{sobject}")
        return self.data_path(f"/sobjects/{sobject}/{field}/{quote(value, safe='')}")

    # -- calls -----------------------------------------------------------------------------

    async def call(self, method: str, path: str, body: Mapping[str, Any] | None = None) -> Answer:
        """One REST call; a failed answer is raised as a provider error (errors.py)."""
        answer = await self._authorized(method, path, body)
        if answer.status >= 300:
            raise translate(ApiError.of(answer.status, answer.body))
        return answer

    async def query(self, soql: str) -> list[dict[str, Any]]:
        """Every record the query matches: one GET, and one more per `nextRecordsUrl`."""
        answer = await self.call("GET", self.data_path("/query?q=" + quote(soql, safe="")))
        records = list(_page(answer.body, "records"))
        while isinstance(answer.body, dict) and not answer.body.get("done", True):
            next_url = answer.body.get("nextRecordsUrl")
            if not isinstance(next_url, str):
                break
            answer = await self.call("GET", next_url)
            records += _page(answer.body, "records")
        return records

    async def composite(
        self, subrequests: Sequence[SubRequest], *, all_or_none: bool = True
    ) -> list[Answer]:
        """Subrequests in one call and, with all_or_none, one transaction: when one fails,
        none is applied. Each subrequest's answer, in order (the failed ones' bodies are
        their error lists; those rolled back say PROCESSING_HALTED)."""
        payload = {
            "allOrNone": all_or_none,
            "compositeRequest": [
                {
                    "method": each.method,
                    "url": each.url,
                    "referenceId": each.reference_id,
                    **({"body": dict(each.body)} if each.body is not None else {}),
                }
                for each in subrequests
            ],
        }
        answer = await self.call("POST", self.data_path("/composite"), payload)
        results = _page(answer.body, "compositeResponse")
        if len(results) != len(subrequests):
            raise ProviderUnavailable(PROVIDER, "a composite answer without every subrequest")
        return [Answer(int(each.get("httpStatusCode", 0)), each.get("body")) for each in results]

    # -- the session -----------------------------------------------------------------------

    async def _authorized(self, method: str, path: str, body: Mapping[str, Any] | None) -> Answer:
        """The call with the session; an expired session (401 INVALID_SESSION_ID) is
        replaced once and the call sent again. A second 401 is an answer like any other."""
        session = await self._current_session()
        answer = await self._send(method, session.instance_url + path, session, body)
        if answer.status != 401 or ApiError.of(401, answer.body).code != INVALID_SESSION:
            return answer
        log.info("salesforce: session expired; authenticating again")
        session = await self._current_session(expired=session)
        return await self._send(method, session.instance_url + path, session, body)

    async def _current_session(self, expired: auth.Session | None = None) -> auth.Session:
        async with self._authenticating:
            if self._session is None or self._session == expired:
                self._session = await self._authenticate()
            return self._session

    async def _authenticate(self) -> auth.Session:
        url = self.settings.login_url.rstrip("/") + auth.TOKEN_PATH
        form = auth.token_form(self.settings, self._wall_clock())
        answer = await self._exchange(
            lambda http: http.post(url, data=form, headers={"Accept": "application/json"})
        )
        if answer.status >= 500:
            raise ProviderUnavailable(PROVIDER, f"token endpoint answered {answer.status}")
        session = auth.session_of(answer.body) if answer.status == 200 else None
        if session is None:
            error = ApiError.of(answer.status, answer.body)
            raise ProviderRejected(
                PROVIDER, "not_authorized", f"authentication refused: {error.message}"
            )
        return session

    async def _send(
        self, method: str, url: str, session: auth.Session, body: Mapping[str, Any] | None
    ) -> Answer:
        headers = {"Authorization": f"Bearer {session.access_token}", "Accept": "application/json"}
        return await self._exchange(
            lambda http: http.request(
                method, url, json=dict(body) if body is not None else None, headers=headers
            )
        )

    async def _exchange(self, request: Callable[[aiohttp.ClientSession], Any]) -> Answer:
        try:
            async with request(self._client()) as response:
                self._note_usage(response.headers.get(LIMIT_HEADER))
                raw = await response.read()
                return Answer(response.status, _json(raw))
        except TimeoutError as error:
            seconds = self.settings.timeout_seconds
            raise ProviderUnavailable(PROVIDER, f"no answer within {seconds:g}s") from error
        except aiohttp.ClientError as error:
            raise ProviderUnavailable(PROVIDER, f"cannot reach Salesforce: {error}") from error

    def _client(self) -> aiohttp.ClientSession:
        """Created at first use, inside the running event loop, and kept for the process."""
        if self._http is None:
            timeout = aiohttp.ClientTimeout(total=self.settings.timeout_seconds)
            self._http = aiohttp.ClientSession(timeout=timeout, raise_for_status=False)
        return self._http

    def _note_usage(self, header: str | None) -> None:
        found = _USAGE.search(header or "")
        if found is None:
            return
        used, limit = int(found[1]), int(found[2])
        self._usage = (used, limit)
        if limit and used >= _WARN_AT * limit:
            log.warning("salesforce: %d of the org's %d daily API requests used", used, limit)
        else:
            log.debug("salesforce: api usage %d/%d", used, limit)


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return raw.decode(errors="replace")[:200]


def _page(body: Any, key: str) -> list[dict[str, Any]]:
    found = body.get(key) if isinstance(body, dict) else None
    if not isinstance(found, list):
        raise ProviderUnavailable(PROVIDER, f"an answer without {key!r}")
    return [each for each in found if isinstance(each, dict)]
