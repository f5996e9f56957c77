"""A stateful fake of the Salesforce endpoints the Salesforce CRM provider uses, on
127.0.0.1 and a random port (it is both the login URL and the instance URL).

- `POST /services/oauth2/token`: the JWT bearer grant. The assertion must be RS256, signed
  by the connected app's key (keys.py), with iss = the consumer key, sub = the user, aud =
  this login URL and an `exp` still ahead; otherwise 400 {"error": "invalid_grant"}.
- `/services/data/vNN.0/...`: `query` (SOQL as soql.py parses it, paged `page_size` records
  at a time through `nextRecordsUrl`), `sobjects/{object}` (POST: create),
  `sobjects/{object}/{field}/{value}` (PATCH: upsert by external id, 201 created or 204
  updated; GET: the record), and `composite` (allOrNone: the first failure rolls back
  every subrequest, the others answering PROCESSING_HALTED). Every answer carries
  `Sforce-Limit-Info: api-usage=used/limit`, each data call counting one.

Controls: `expire_sessions()` (the next call with an old token: 401 INVALID_SESSION_ID),
`refuse_sessions(n)` (the next n calls: 401 whatever the token), `exceed_limit(n)` (403
REQUEST_LIMIT_EXCEEDED), and the contract's `inject(fault, times)` / `clear()`
(tests/fakes/faults.py) on data calls. `log` records every request; `calls(...)` counts them.
"""

from __future__ import annotations

import asyncio
import fnmatch
import itertools
import json
import re
import secrets
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
from aiohttp import web

from tests.fakes.faults import Fault
from tests.fakes.loopback import serve
from tests.fakes.salesforce.keys import CLIENT_ID, USERNAME, app_keys
from tests.fakes.salesforce.soql import MalformedQuery, parse
from tests.fakes.salesforce.store import Obj, SalesforceError, Store, not_found

GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer"
API_LIMIT = 15_000
_VERSION = re.compile(r"^v\d{2,3}\.0$")
_REFERENCE = re.compile(r"@\{(\w+)\.(\w+)\}")
_HALTED = [
    {
        "errorCode": "PROCESSING_HALTED",
        "message": "The transaction was rolled back since another operation in the same "
        "transaction failed.",
    }
]


@dataclass
class Logged:
    method: str
    path: str
    query: str = ""  # the SOQL of a query call
    status: int = 0
    faulted: bool = False


@dataclass
class _Answer:
    status: int
    body: Any = None


@dataclass
class SalesforceFake:
    client_id: str = CLIENT_ID
    username: str = USERNAME
    public_key: str = field(default_factory=lambda: app_keys().public_pem)
    page_size: int = 2000
    hang_seconds: float = 1.0
    store: Store = field(default_factory=Store)
    log: list[Logged] = field(default_factory=list)
    url: str = ""
    api_used: int = 0

    def __post_init__(self) -> None:
        self._tokens: set[str] = set()
        self._faults: deque[Fault] = deque()
        self._refusals = 0
        self._over_limit = 0
        self._cursors: dict[str, list[Obj]] = {}
        self._locators = itertools.count(1)
        self._runner: web.AppRunner | None = None

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/services/oauth2/token", self._token)
        app.router.add_route("*", "/services/data/{version}/{tail:.*}", self._data)
        self._runner, self.url = await serve(app)
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def reset(self) -> None:
        """Forget the records, sessions, controls and the log (the usage count goes on)."""
        self.store = Store()
        self.log.clear()
        self._tokens.clear()
        self._faults.clear()
        self._refusals = self._over_limit = 0
        self._cursors.clear()

    # -- controls and what tests read ------------------------------------------------------

    def expire_sessions(self) -> None:
        self._tokens.clear()

    def refuse_sessions(self, times: int = 1) -> None:
        self._refusals += times

    def exceed_limit(self, times: int = 1) -> None:
        self._over_limit += times

    def inject(self, fault: Fault, *, times: int = 1) -> None:
        if fault is Fault.PARTIAL:
            raise ValueError("the Salesforce fake has no partial fault")
        self._faults.extend([fault] * times)

    def clear(self) -> None:
        self._faults.clear()

    def calls(self, method: str, pattern: str = "*", *, answered: bool = True) -> int:
        """Requests of `method` to paths matching `pattern` (not counting injected faults
        unless `answered` is False)."""
        return sum(
            1
            for each in self.log
            if each.method == method
            and fnmatch.fnmatchcase(each.path, pattern)
            and not (answered and each.faulted)
        )

    def queries(self) -> list[str]:
        return [each.query for each in self.log if each.query]

    def records(self, sobject: str) -> list[Obj]:
        return self.store.all(sobject)

    # -- the token endpoint ----------------------------------------------------------------

    async def _token(self, request: web.Request) -> web.Response:
        form = await request.post()
        entry = Logged("POST", request.path)
        self.log.append(entry)
        if form.get("grant_type") != GRANT_TYPE:
            return _oauth_error(entry, "unsupported_grant_type", "grant type not supported")
        try:
            claims = jwt.decode(
                str(form.get("assertion", "")),
                self.public_key,
                algorithms=["RS256"],
                audience=self.url,
                issuer=self.client_id,
                options={"require": ["exp", "iss", "sub", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            return _oauth_error(entry, "invalid_grant", "expired authorization code")
        except jwt.InvalidTokenError:
            return _oauth_error(entry, "invalid_grant", "invalid assertion")
        if claims.get("sub") != self.username:
            return _oauth_error(entry, "invalid_grant", "user hasn't approved this consumer")
        token = f"00DFAKE!{secrets.token_urlsafe(24)}"
        self._tokens.add(token)
        entry.status = 200
        return web.json_response(
            {
                "access_token": token,
                "scope": "api",
                "instance_url": self.url,
                "id": f"{self.url}/id/00DFAKE/005FAKE",
                "token_type": "Bearer",
                "issued_at": str(int(time.time() * 1000)),
            }
        )

    # -- data calls ------------------------------------------------------------------------

    async def _data(self, request: web.Request) -> web.StreamResponse:
        entry = Logged(request.method, request.path, request.query.get("q", ""))
        self.log.append(entry)
        self.api_used += 1
        refused = self._refused(request)
        if refused is not None:
            entry.faulted = True
            return self._answer(entry, refused)
        fault = self._faults.popleft() if self._faults else None
        if fault is Fault.REJECT:
            entry.faulted = True
            error = SalesforceError(400, "INVALID_FIELD", "An injected rejection.")
            return self._answer(entry, _Answer(400, error.body()))
        if fault is Fault.SERVER_ERROR:
            entry.faulted = True
            body = [{"errorCode": "UNKNOWN_EXCEPTION", "message": "An unexpected error occurred."}]
            return self._answer(entry, _Answer(500, body))
        if fault is Fault.TIMEOUT:
            await asyncio.sleep(self.hang_seconds)
        answer = self._run(
            request.match_info, request.method, request.query_string, await request.read()
        )
        if fault is Fault.DROP:
            return await self._drop(request, entry, answer)
        return self._answer(entry, answer)

    def _refused(self, request: web.Request) -> _Answer | None:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if self._refusals or token not in self._tokens:
            self._refusals = max(0, self._refusals - 1)
            body = [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
            return _Answer(401, body)
        if self._over_limit:
            self._over_limit -= 1
            message = f"TotalRequests Limit exceeded. Used {self.api_used} of {API_LIMIT}."
            return _Answer(403, [{"message": message, "errorCode": "REQUEST_LIMIT_EXCEEDED"}])
        return None

    def _run(self, match: Any, method: str, query: str, raw: bytes) -> _Answer:
        if not _VERSION.match(match["version"]):
            return _Answer(404, not_found().body())
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            return _Answer(400, [{"errorCode": "JSON_PARSER_ERROR", "message": "bad JSON"}])
        try:
            return self._dispatch(match["version"], method, match["tail"], query, body)
        except SalesforceError as error:
            return _Answer(error.status, error.body())

    def _dispatch(self, version: str, method: str, tail: str, query: str, body: Any) -> _Answer:
        parts = tail.strip("/").split("/")
        params = {k: v[0] for k, v in parse_qs(query).items()}
        if parts == ["query"] and method == "GET":
            return self._query(version, params.get("q", ""))
        if parts[0] == "query" and len(parts) == 2 and method == "GET":
            return self._page(version, parts[1])
        if parts == ["composite"] and method == "POST":
            return self._composite(version, body)
        if parts[0] == "sobjects" and len(parts) == 2 and method == "POST":
            record = self.store.create(parts[1], _object(body))
            return _Answer(201, {"id": record["Id"], "success": True, "errors": []})
        if parts[0] == "sobjects" and len(parts) == 4 and method == "PATCH":
            created, record = self.store.upsert(parts[1], parts[2], parts[3], _object(body))
            if not created:
                return _Answer(204)
            return _Answer(
                201, {"id": record["Id"], "success": True, "errors": [], "created": True}
            )
        if parts[0] == "sobjects" and len(parts) == 4 and method == "GET":
            wanted = [f for f in params.get("fields", "").split(",") if f]
            return _Answer(200, self.store.get(parts[1], parts[2], parts[3], wanted))
        raise not_found()

    def _query(self, version: str, text: str) -> _Answer:
        try:
            parsed = parse(text)
        except MalformedQuery as error:
            raise SalesforceError(400, "MALFORMED_QUERY", str(error)) from error
        return self._paged(version, self.store.select(parsed), total=None)

    def _page(self, version: str, locator: str) -> _Answer:
        rest = self._cursors.pop(locator, None)
        if rest is None:
            raise SalesforceError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        return self._paged(version, rest, total=None)

    def _paged(self, version: str, records: list[Obj], total: int | None) -> _Answer:
        page, rest = records[: self.page_size], records[self.page_size :]
        body: Obj = {
            "totalSize": len(records) if total is None else total,
            "done": not rest,
            "records": page,
        }
        if rest:
            locator = f"01gFAKE{next(self._locators):04d}-{self.page_size}"
            self._cursors[locator] = rest
            body["nextRecordsUrl"] = f"/services/data/{version}/query/{locator}"
        return _Answer(200, body)

    def _composite(self, version: str, body: Any) -> _Answer:
        subrequests = body.get("compositeRequest") if isinstance(body, dict) else None
        if not isinstance(subrequests, list) or not 0 < len(subrequests) <= 25:
            raise SalesforceError(400, "INVALID_INPUT", "compositeRequest: 1 to 25 subrequests")
        all_or_none = bool(body.get("allOrNone", False))
        before = self.store.snapshot()
        results: list[Obj] = []
        answers: dict[str, Any] = {}
        failed = False
        for each in subrequests:
            reference = str(each.get("referenceId", ""))
            if failed and all_or_none:
                results.append(_sub(reference, _Answer(400, _HALTED)))
                continue
            answer = self._subrequest(each, answers)
            answers[reference] = answer.body
            results.append(_sub(reference, answer))
            failed = failed or answer.status >= 400
        if failed and all_or_none:
            self.store.restore(before)
            results = [
                result
                if result["httpStatusCode"] >= 400
                else {**result, "body": _HALTED, "httpStatusCode": 400}
                for result in results
            ]
        return _Answer(200, {"compositeResponse": results})

    def _subrequest(self, each: Obj, answers: dict[str, Any]) -> _Answer:
        try:
            url = _resolve(str(each.get("url", "")), answers)
            body = json.loads(_resolve(json.dumps(each.get("body")), answers))
        except KeyError as error:
            message = f"Invalid reference specified. No value for {error} found"
            return _Answer(400, [{"errorCode": "INVALID_INPUT", "message": message}])
        split = urlsplit(url)
        found = re.match(r"^/services/data/(v[\d.]+)/(.*)$", split.path)
        if found is None:
            return _Answer(404, not_found().body())
        match = {"version": found[1], "tail": found[2]}
        raw = json.dumps(body).encode() if body is not None else b""
        return self._run(match, str(each.get("method", "")), split.query, raw)

    # -- the wire --------------------------------------------------------------------------

    def _answer(self, entry: Logged, answer: _Answer) -> web.Response:
        entry.status = answer.status
        headers = {"Sforce-Limit-Info": f"api-usage={self.api_used}/{API_LIMIT}"}
        if answer.status == 204:
            return web.Response(status=204, headers=headers)
        return web.Response(
            status=answer.status,
            text=json.dumps(answer.body),
            content_type="application/json",
            headers=headers,
        )

    async def _drop(
        self, request: web.Request, entry: Logged, answer: _Answer
    ) -> web.StreamResponse:
        """Applied, then the connection is cut halfway through the answer."""
        entry.status = answer.status
        payload = json.dumps(answer.body).encode()
        response = web.StreamResponse(
            status=answer.status, headers={"Content-Type": "application/json"}
        )
        response.content_length = len(payload) + 10
        await response.prepare(request)
        await response.write(payload[: len(payload) // 2])
        assert request.transport is not None
        request.transport.abort()
        return response


def _object(body: Any) -> Obj:
    if not isinstance(body, dict):
        raise SalesforceError(400, "JSON_PARSER_ERROR", "The request body must be an object")
    return body


def _resolve(text: str, answers: dict[str, Any]) -> str:
    """@{reference.Field} -> that earlier subrequest's answer's field (KeyError: none)."""

    def value(found: re.Match[str]) -> str:
        answer = answers[found[1]]
        if not isinstance(answer, dict) or found[2] not in answer:
            raise KeyError(found[0])
        return str(answer[found[2]])

    return _REFERENCE.sub(value, text)


def _sub(reference: str, answer: _Answer) -> Obj:
    return {
        "body": answer.body,
        "httpHeaders": {},
        "httpStatusCode": answer.status,
        "referenceId": reference,
    }


def _oauth_error(entry: Logged, error: str, description: str) -> web.Response:
    entry.status = 400
    return web.json_response({"error": error, "error_description": description}, status=400)
