"""Serving a fake vendor's aiohttp app on 127.0.0.1 at a free port, as every fake does."""

from __future__ import annotations

from aiohttp import web


async def serve(
    app: web.Application, *, shutdown_timeout: float = 0.1
) -> tuple[web.AppRunner, str]:
    """The started runner (`cleanup()` stops it) and the base URL it answers on. Handlers
    are cancelled on shutdown, so a fake's hanging request does not hold the stop."""
    runner = web.AppRunner(app, handler_cancellation=True, shutdown_timeout=shutdown_timeout)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}"
