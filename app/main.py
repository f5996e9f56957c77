"""The composition root: create_app() wires the runtime, the HTTP routes and GraphQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.routing import Route

from app.config import Settings
from app.http.health import healthz, readyz
from app.http.invoices import invoice_pdf
from app.runtime import Runtime, build_runtime
from schema.build import build_schema
from schema.view import GraphQLView


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> Starlette:
    """Builds the runtime in the lifespan; a test hands in its own and closes it itself."""
    settings = runtime.settings if runtime is not None else (settings or Settings())

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if runtime is not None:
            yield
            return
        app.state.runtime = build_runtime(settings)
        try:
            yield
        finally:
            await app.state.runtime.aclose()

    view = GraphQLView(
        schema=build_schema(production=settings.is_production),
        graphql_ide=None if settings.is_production else "graphiql",
        allow_queries_via_get=True,
    )
    app = Starlette(
        lifespan=lifespan,
        routes=[
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            Route("/graphql", view, methods=["GET", "POST"]),
            Route("/invoices/{number}.pdf", invoice_pdf, methods=["GET"]),
        ],
    )
    if runtime is not None:
        app.state.runtime = runtime
    return app
