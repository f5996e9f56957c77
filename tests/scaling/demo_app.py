"""The real app in this process on a database of its own (migrated, demo data): built by
`build_runtime` from settings as the lifespan builds it, so with the real engine and pool
(not the suite's one shared connection), and called over httpx's ASGI transport."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from app.clock import SystemClock
from app.config import Settings
from app.main import create_app
from app.runtime import Runtime, build_runtime
from app.services.demo.tokens import demo_tokens
from bench.concurrency import readme_dashboard
from tests.scaling.database import migrate_and_seed, private_database


def on_postgresql() -> bool:
    return os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql")


@asynccontextmanager
async def demo_database(server_url: str, folder: Path) -> AsyncIterator[Settings]:
    """Settings for a new database with the demo data: on the PostgreSQL server of the
    suite's database, or a SQLite file in `folder`."""
    settings = Settings(environment="development", database_url=server_url)
    if server_url.startswith("postgresql"):
        async with private_database(server_url, settings) as url:
            yield settings.model_copy(update={"database_url": url})
        return
    settings = settings.model_copy(
        update={"database_url": f"sqlite+aiosqlite:///{folder / 'demo.db'}"}
    )
    await migrate_and_seed(settings)
    yield settings


@dataclass
class DemoApp:
    http: httpx.AsyncClient
    runtime: Runtime
    owner: str  # the demo owner's bearer token

    async def dashboard(self) -> httpx.Response:
        return await self.post({"query": readme_dashboard()})

    async def post(self, body: dict[str, Any]) -> httpx.Response:
        headers = {"authorization": f"Bearer {self.owner}"}
        return await self.http.post("/graphql", json=body, headers=headers)


@asynccontextmanager
async def demo_app(settings: Settings) -> AsyncIterator[DemoApp]:
    runtime = build_runtime(settings)
    transport = httpx.ASGITransport(app=create_app(runtime=runtime))
    owner = demo_tokens(settings, SystemClock().now())["owner"]
    try:
        async with httpx.AsyncClient(
            transport=transport, base_url="http://fulfillment", timeout=60.0
        ) as http:
            yield DemoApp(http, runtime, owner)
    finally:
        await runtime.aclose()
