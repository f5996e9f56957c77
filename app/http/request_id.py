"""X-Request-ID: taken from the caller when it is a sane token, made up otherwise, stored in
the request's state for the GraphQL view (errors and log lines carry it) and in a context
variable for every log line of the request, and sent back."""

from __future__ import annotations

import re
import uuid

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.observability.context import request_id_set

HEADER = "X-Request-ID"
STATE_KEY = "request_id"
# Anything else (long, spaces, control characters) could forge or split log lines.
_SANE = re.compile(r"[A-Za-z0-9._:-]{1,128}")


def request_id_from(value: str | None) -> str:
    if value is not None and _SANE.fullmatch(value):
        return value
    return uuid.uuid4().hex


def request_id_of(scope: Scope) -> str | None:
    found = scope.get("state", {}).get(STATE_KEY)
    return found if isinstance(found, str) else None


class RequestIdMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_from(Headers(scope=scope).get(HEADER))
        scope.setdefault("state", {})[STATE_KEY] = request_id

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)[HEADER] = request_id
            await send(message)

        with request_id_set(request_id):  # log lines below carry it (app.observability.logs)
            await self.app(scope, receive, send_with_id)
