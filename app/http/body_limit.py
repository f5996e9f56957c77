"""Request bodies larger than MAX_BODY_BYTES are refused with 413, before the route reads
them when Content-Length says so, and as soon as the limit is passed while streaming
(chunked uploads, or a Content-Length that lies)."""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.http.errors import HttpErrorCode, send_error


class BodyTooLarge(Exception):
    pass


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and not declared.isdigit():
            await send_error(send, 400, HttpErrorCode.BAD_REQUEST.value, "Bad Content-Length.")
            return
        if declared is not None and int(declared) > self.max_bytes:
            await self._refuse(send)
            return

        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if started:  # the route answered before reading everything; nothing to add
                return
            await self._refuse(send)

    async def _refuse(self, send: Send) -> None:
        await send_error(
            send,
            413,
            HttpErrorCode.PAYLOAD_TOO_LARGE.value,
            f"The request body is larger than {self.max_bytes} bytes.",
            {"Connection": "close"},
        )
