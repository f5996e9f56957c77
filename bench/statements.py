"""SQL statements per request, counted in-process: the same ASGI apps the servers run,
called through httpx, with a `before_cursor_execute` listener on their engine. Every
statement SQLAlchemy sends is counted, including SQLite's `BEGIN` (one per session)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db.engine import create_session_factory
from app.main import create_app
from app.runtime import build_runtime
from bench import graphql_core_server, handwritten
from bench.database import BenchDatabase


@dataclass
class Counter:
    statements: list[str] = field(default_factory=list)

    def __call__(self, *args: Any) -> None:
        self.statements.append(str(args[2]))

    def reset(self) -> None:
        self.statements.clear()


class InProcess:
    """The app, the hand-written endpoint and the graphql-core floor on one counted engine."""

    def __init__(self, database: BenchDatabase) -> None:
        self.database = database
        self.engine: AsyncEngine = database.engine()
        self.counter = Counter()
        event.listen(self.engine.sync_engine, "before_cursor_execute", self.counter)
        runtime = build_runtime(database.settings, sessions=create_session_factory(self.engine))
        self.runtime = runtime
        self.clients: dict[str, httpx.AsyncClient] = {}

    async def __aenter__(self) -> InProcess:
        from bench.queries import DASHBOARD

        apps = {
            "app": create_app(runtime=self.runtime),
            "handwritten": handwritten.build_app(self.engine, self.database.settings),
            "graphql_core": graphql_core_server.build_app(self.runtime, [DASHBOARD]),
        }
        for name, app in apps.items():
            transport = httpx.ASGITransport(app=app)
            self.clients[name] = httpx.AsyncClient(transport=transport, base_url="http://bench")
        return self

    async def __aexit__(self, *exc: object) -> None:
        for client in self.clients.values():
            await client.aclose()
        await self.runtime.providers.aclose()
        await self.engine.dispose()

    async def post(
        self, target: str, token: str, body: dict[str, Any], *, warm: bool = True
    ) -> tuple[dict[str, Any], list[str]]:
        """The answer and the statements of one request (after one unmeasured request when
        `warm`, so that per-process first-use work is not counted)."""
        headers = {"authorization": f"Bearer {token}"}
        if warm:
            await self.clients[target].post("/graphql", json=body, headers=headers)
        self.counter.reset()
        response = await self.clients[target].post("/graphql", json=body, headers=headers)
        statements = list(self.counter.statements)
        if response.status_code != 200:
            raise RuntimeError(f"{target}: HTTP {response.status_code}: {response.text[:300]}")
        answer: dict[str, Any] = response.json()
        if answer.get("errors"):
            raise RuntimeError(f"{target}: {answer['errors']}")
        return answer, statements


def short(statement: str) -> str:
    return " ".join(statement.split())[:110]


def statement_summary(statements: list[str], describe: Callable[[str], str] = short) -> list[str]:
    return [describe(s) for s in statements]
