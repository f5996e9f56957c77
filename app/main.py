"""The composition root: create_app() wires the runtime, the HTTP routes and GraphQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.routing import Route

from app.config import Settings
from app.http.body_limit import BodyLimitMiddleware
from app.http.graphiql import ROUTE as GRAPHIQL_ASSETS
from app.http.graphiql import graphiql_asset
from app.http.health import healthz, readyz
from app.http.invoices import invoice_pdf
from app.http.metrics import RequestMetrics, counted, metrics_endpoint
from app.http.portal import portal_routes
from app.http.request_id import HEADER as REQUEST_ID_HEADER
from app.http.request_id import RequestIdMiddleware
from app.http.time_limit import TimeLimit
from app.http.unavailable import EXCEPTION_HANDLERS
from app.http.webhooks import stripe_route
from app.observability.logs import configure_logging
from app.runtime import Runtime, build_runtime
from app.services.trusted_documents import DocumentSource
from app.services.worker.in_process import running_worker
from schema.build import build_schema
from schema.document_files import load_documents
from schema.view import GraphQLView


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> Starlette:
    """Builds the runtime in the lifespan; a test hands in its own and closes it itself."""
    settings = runtime.settings if runtime is not None else (settings or Settings())

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if runtime is not None:
            yield
            return
        configure_logging(settings)
        app.state.runtime = build_runtime(settings)
        try:
            async with running_worker(app.state.runtime):
                yield
        finally:
            await app.state.runtime.aclose()

    view = GraphQLView(
        schema=build_schema(settings),
        graphql_ide=None if settings.is_production else "graphiql",
        allow_queries_via_get=True,
    )
    graphql = RequestMetrics(TimeLimit(view, settings.request_timeout_seconds))
    routes = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics_endpoint, methods=["GET"]),
        Route("/graphql", graphql, methods=["GET", "POST"]),
        # The plain routes a client or vendor calls are counted by template (app/http/metrics).
        counted(Route("/invoices/{number}.pdf", invoice_pdf, methods=["GET"])),
        counted(stripe_route(settings)),
    ]
    if not settings.is_production:  # GraphiQL's own files, for the page /graphql shows
        routes.append(Route(GRAPHIQL_ASSETS, graphiql_asset, methods=["GET"]))
    routes.extend(portal_routes(settings))  # /portal/: outside production unless enabled
    app = Starlette(
        lifespan=lifespan,
        routes=routes,
        middleware=_middleware(settings),
        exception_handlers=EXCEPTION_HANDLERS,  # the database unavailable: a retryable 503
    )
    if runtime is not None:
        app.state.runtime = runtime
    return app


def _middleware(settings: Settings) -> list[Middleware]:
    """Outermost first: every answer (a 413 too) carries X-Request-ID and, for an allowed
    origin, CORS headers; bodies are limited before any route reads them."""
    stack = [Middleware(RequestIdMiddleware)]
    if settings.cors_origins:
        stack.append(
            Middleware(
                CORSMiddleware,
                allow_origins=list(settings.cors_origins),
                allow_methods=["GET", "POST"],
                allow_headers=["Authorization", "Content-Type", REQUEST_ID_HEADER],
                expose_headers=[REQUEST_ID_HEADER],
                max_age=600,
            )
        )
    stack.append(Middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes))
    return stack


def checked_documents(folder: Path, settings: Settings) -> list[DocumentSource]:
    """The `.graphql` files under `folder`, validated against this app's schema and limits
    (for `fulfillment documents register`); raises InvalidDocuments."""
    return load_documents(folder, settings)
