"""The GraphQL HTTP view: authenticates, builds the request context, closes it afterwards."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from strawberry.asgi import GraphQL

from app.auth.authenticate import authenticate
from app.auth.tokens import InvalidCredentials
from app.domain.errors import ErrorCode
from app.runtime import Runtime
from resolvers.context import RequestContext


class GraphQLView(GraphQL[RequestContext, None]):
    async def run(self, request: Any, context: Any = None, root_value: Any = None) -> Any:
        if not isinstance(request, Request):
            return await super().run(request)
        try:
            context = await self._context_for(request)
        except InvalidCredentials as exc:
            return _unauthenticated(str(exc))
        try:
            return await super().run(request, context=context, root_value=None)
        finally:
            await context.close()

    async def _context_for(self, request: Request) -> RequestContext:
        runtime: Runtime = request.app.state.runtime
        authorization = request.headers.get("authorization")
        async with runtime.sessions() as session:
            principal = await authenticate(session, runtime.settings, authorization)
        return RequestContext(runtime, principal, request.headers.get("x-request-id"))


def _unauthenticated(detail: str) -> Response:
    body = {
        "data": None,
        "errors": [
            {
                "message": f"Invalid credentials: {detail}.",
                "extensions": {"code": ErrorCode.UNAUTHENTICATED.value},
            }
        ],
    }
    return JSONResponse(body, status_code=401, headers={"WWW-Authenticate": "Bearer"})
