"""The app served over real HTTP (uvicorn on 127.0.0.1 and a random port), so the fake
Stripe API can POST its webhook deliveries to it as Stripe does."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn

from app.main import create_app
from app.runtime import Runtime


@asynccontextmanager
async def served(runtime: Runtime) -> AsyncIterator[str]:
    """The base URL of the app running on the test's runtime."""
    config = uvicorn.Config(
        create_app(runtime=runtime), host="127.0.0.1", port=0, log_level="warning", lifespan="off"
    )
    server = uvicorn.Server(config)
    # Listening before the server runs: a request sent early waits in the backlog.
    sock = socket.create_server(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
        sock.close()
