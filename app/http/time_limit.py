"""A time limit around one ASGI app (the GraphQL view): past REQUEST_TIMEOUT_SECONDS the work
is cancelled (open transactions roll back as their sessions close) and the caller gets 503.
The deadline is published to the work (app.deadline), so an order can stop waiting in time."""

from __future__ import annotations

import asyncio
import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.deadline import request_deadline
from app.http.errors import HttpErrorCode, send_error
from app.http.request_id import request_id_of
from app.observability.context import current_observation

logger = logging.getLogger("fulfillment.http")


class TimeLimit:
    def __init__(self, app: ASGIApp, seconds: float) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            when = asyncio.get_running_loop().time() + self.seconds
            async with asyncio.timeout_at(when) as deadline:
                with request_deadline(when):
                    await self.app(scope, receive, tracking_send)
        except TimeoutError:
            if not deadline.expired():  # raised by the app itself: a bug, not the limit
                raise
            observation = current_observation()
            if observation is not None:  # the request metrics count it as a timeout
                observation.timed_out = True
            logger.warning(
                "Request %s to %s cancelled after %ss",
                request_id_of(scope),
                scope.get("path"),
                self.seconds,
            )
            if started:  # too late for a status code; the response just ends here
                return
            await send_error(
                send,
                503,
                HttpErrorCode.REQUEST_TIMEOUT.value,
                f"The request took longer than {self.seconds:g} seconds and was cancelled.",
            )
