"""The skeleton both comparison servers share: POST /graphql, GET /readyz, and a lifespan
that closes what the server owns."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

Endpoint = Callable[[Request], Awaitable[Response]]


def bench_app(
    endpoint: Endpoint,
    ping: Callable[[], Awaitable[None]],
    close: Callable[[], Awaitable[None]] | None = None,
) -> Starlette:
    async def readyz(request: Request) -> Response:
        await ping()
        return Response(b'{"status":"ok"}', media_type="application/json")

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            if close is not None:
                await close()

    return Starlette(
        lifespan=lifespan,
        routes=[
            Route("/graphql", endpoint, methods=["POST"]),
            Route("/readyz", readyz, methods=["GET"]),
        ],
    )
