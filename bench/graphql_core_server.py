"""The floor of GraphQL overhead: graphql-core's `execute` over the app's own schema and
resolvers, without strawberry's HTTP view, extensions, parsing or validation per request.

Builds the strawberry schema, takes its graphql-core schema (`_schema`), parses and
validates every known operation once at start-up, and per request looks the document up
by its query text, authenticates and builds a RequestContext as schema/view.py does (reading
in the session that authenticated; the view's EdgeContext subclass only adds what the limit
extensions record; there are none here),
awaits `graphql.execute`, and answers with orjson. Unknown query texts get a 400.
Run as `uvicorn bench.graphql_core_server:create_app --factory`."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson
import sqlalchemy as sa
from graphql import DocumentNode, execute, parse, validate
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from strawberry.execution import optimized_is_awaitable

from app.auth.authenticate import authenticate
from app.auth.tokens import InvalidCredentials
from app.runtime import Runtime
from bench.asgi import bench_app
from resolvers.context import RequestContext
from schema.build import build_schema


def prepare(schema: Any, queries: Iterable[str]) -> dict[str, DocumentNode]:
    documents = {}
    for query in queries:
        document = parse(query)
        errors = validate(schema, document)
        if errors:
            raise ValueError(f"invalid bench query: {errors[0].message}")
        documents[query] = document
    return documents


def build_app(runtime: Runtime, queries: Iterable[str], *, owns_runtime: bool = False) -> Starlette:
    strawberry_schema = build_schema(production=runtime.settings.is_production)
    schema = strawberry_schema._schema
    executor_class = strawberry_schema.execution_context_class
    documents = prepare(schema, queries)

    async def endpoint(request: Request) -> Response:
        body = orjson.loads(await request.body())
        document = documents.get(body.get("query"))
        if document is None:
            return Response(b'{"errors":[{"message":"unknown query"}]}', 400)
        session = runtime.sessions()  # as the app's view: the request reads in it too
        try:
            principal = await authenticate(
                session, runtime.settings, request.headers.get("authorization")
            )
        except InvalidCredentials as exc:
            await session.close()
            body = {"data": None, "errors": [{"message": f"Invalid credentials: {exc}."}]}
            return Response(orjson.dumps(body), 401, media_type="application/json")
        context = RequestContext(runtime, principal, request.headers.get("x-request-id"))
        context.adopt(session)
        try:
            result = execute(
                schema,
                document,
                context_value=context,
                variable_values=body.get("variables"),
                is_awaitable=optimized_is_awaitable,
                executor_class=executor_class,
            )
            if optimized_is_awaitable(result):
                result = await result
        finally:
            await context.close()
        payload: dict[str, Any] = {"data": result.data}
        if result.errors:
            payload["errors"] = [error.formatted for error in result.errors]
        return Response(orjson.dumps(payload), media_type="application/json")

    async def ping() -> None:
        async with runtime.sessions() as session:
            await session.execute(sa.text("SELECT 1"))

    return bench_app(endpoint, ping, runtime.aclose if owns_runtime else None)


def create_app() -> Starlette:
    from bench import queries
    from bench.appserver import build_bench_runtime

    documents = [queries.DASHBOARD, queries.readme_dashboard()]
    return build_app(build_bench_runtime(), documents, owns_runtime=True)
