"""The GraphQL HTTP view: authenticates, builds the request context, closes it afterwards,
and speaks GraphQL over HTTP (https://graphql.github.io/graphql-over-http/draft/):

- POST bodies must be `application/json`. Form, multipart and text/plain bodies (the ones a
  browser sends cross-site without a CORS preflight) and bodies without a type get 415
  before anything else runs, so no page elsewhere can make a browser submit a mutation.
- GET runs queries only; a mutation over GET is 405 with `Allow: POST`.
- `Accept: application/graphql-response+json` gets that media type, and a request that was
  refused before execution (parse, validation, limits) gets HTTP 400 (429 when over budget)
  with no `data` entry. With `application/json` every GraphQL answer is a 200, as before.
- A request the database cannot serve right now (pool exhausted, connection lost) is a 503
  `SERVICE_UNAVAILABLE` with `Retry-After`, whatever part of it failed (schema.availability).
- A persisted document request sends `documentId` instead of `query` (POST body or GET
  parameter); schema.trusted_documents turns it into the registered text.
"""

from __future__ import annotations

import math
from typing import Any

import orjson
from cross_web import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLRequestData
from strawberry.schema.exceptions import InvalidOperationTypeError
from strawberry.types import ExecutionResult

from app.auth.authenticate import authenticate
from app.auth.tokens import InvalidCredentials
from app.domain.errors import ErrorCode
from app.http.errors import HttpErrorCode, error_body
from app.http.graphiql import graphiql_page
from app.http.links import base_url
from app.http.request_id import request_id_from, request_id_of
from app.http.unavailable import unavailable_response
from app.observability.context import Observation, current_observation
from app.runtime import Runtime
from resolvers.context import RequestContext
from schema.edge import EdgeContext, OperationRecord

JSON = "application/json"
GRAPHQL_RESPONSE = "application/graphql-response+json"

_STATUS_CODES = {
    404: ErrorCode.NOT_FOUND.value,
    405: HttpErrorCode.METHOD_NOT_ALLOWED.value,
    413: HttpErrorCode.PAYLOAD_TOO_LARGE.value,
    415: HttpErrorCode.UNSUPPORTED_MEDIA_TYPE.value,
}


class _MethodNotAllowed(HTTPException):
    def __init__(self, reason: str) -> None:
        super().__init__(405, reason)


class GraphQLView(GraphQL[RequestContext, None]):
    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)

    def decode_json(self, data: str | bytes) -> object:
        return orjson.loads(data)  # orjson.JSONDecodeError is a json.JSONDecodeError

    async def render_graphql_ide(self, request: Request) -> Response:
        """Our GraphiQL page: its scripts come from this server, not from a CDN."""
        return graphiql_page()

    async def run(self, request: Any, context: Any = None, root_value: Any = None) -> Any:
        if not isinstance(request, Request):
            return await super().run(request)
        if request.method == "POST" and _media_type(request.headers.get("content-type")) != JSON:
            message = "POST a JSON body with `Content-Type: application/json`."
            return _http_error(415, message, {"Accept-Post": JSON})
        media_type = negotiate(request.headers.get("accept"))
        try:
            context = await self._context_for(request)
        except InvalidCredentials as exc:
            return _unauthenticated(str(exc))
        try:
            response = await super().run(request, context=context, root_value=None)
        except HTTPException as exc:
            headers = {"Allow": "POST"} if isinstance(exc, _MethodNotAllowed) else None
            return _http_error(exc.status_code, exc.reason, headers)
        finally:
            await context.close()
        if context.database_unavailable is not None:
            return unavailable_response()
        if media_type == GRAPHQL_RESPONSE and response.media_type == JSON:
            return _graphql_response(response, context)
        return response

    async def execute_single(  # strawberry's signature
        self,
        request: Request,
        request_adapter: Any,
        sub_response: Response,
        context: RequestContext,
        root_value: None,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        if request_data.query is None and isinstance(context, EdgeContext):
            context.document_id = await _document_id(request_adapter)
        observation = current_observation()
        if observation is not None:  # until the document names it (schema.edge)
            labels = context.runtime.metrics.operations
            observation.operation = labels.label(request_data.operation_name)
        try:
            result = await super().execute_single(
                request, request_adapter, sub_response, context, root_value, request_data
            )
        except HTTPException as exc:
            wrong_type = isinstance(exc.__cause__, InvalidOperationTypeError)
            if wrong_type and request_adapter.method == "GET":
                raise _MethodNotAllowed("Mutations are not allowed over GET; use POST.") from exc
            raise
        if observation is not None and isinstance(context, EdgeContext):
            observation.outcome = outcome_of(result, context.operation, observation)
        return result

    async def _context_for(self, request: Request) -> EdgeContext:
        runtime: Runtime = request.app.state.runtime
        authorization = request.headers.get("authorization")
        # The request reads in the session that authenticated the caller: one transaction
        # instead of two (schema.edge.before_execution closes it before a mutation).
        session = runtime.sessions()
        try:
            principal = await authenticate(session, runtime.settings, authorization)
        except BaseException:
            await session.close()
            raise
        request_id = request_id_of(request.scope) or request_id_from(
            request.headers.get("x-request-id")
        )
        client_host = request.client.host if request.client else None
        context = EdgeContext(runtime, principal, request_id, client_host)
        context.base_url = base_url(runtime.settings, request.scope)
        context.adopt(session)
        return context


async def _document_id(request_adapter: Any) -> str | None:
    """A persisted document request names its document by `documentId` instead of sending a
    `query` (strawberry drops that key, so the body is read again, only then)."""
    if request_adapter.method == "GET":
        value = request_adapter.query_params.get("documentId")
    else:
        body = orjson.loads(await request_adapter.get_body())
        value = body.get("documentId") if isinstance(body, dict) else None
    if value is not None and not isinstance(value, str):
        raise HTTPException(400, "The `documentId` must be a string.")
    return value


# Failures on our side (or a dependency's): they spend the error budget; the rest are the
# caller's (a rule, a bad input) and do not.
_SERVER_SIDE = frozenset({ErrorCode.INTERNAL.value, ErrorCode.PROVIDER_UNAVAILABLE.value})


def outcome_of(result: ExecutionResult, record: OperationRecord, observation: Observation) -> str:
    """The request metrics' outcome of one GraphQL operation."""
    if not record.executed:  # parse, validation, limits, trusted documents
        return "error" if record.refused is ErrorCode.INTERNAL else "rejected"
    codes = [(error.extensions or {}).get("code") for error in result.errors or ()]
    codes.extend(observation.user_error_codes)
    if any(code is None or code in _SERVER_SIDE for code in codes):
        return "error"
    return "user_error" if codes else "ok"


def _media_type(header: str | None) -> str:
    return (header or "").partition(";")[0].strip().lower()


def negotiate(accept: str | None) -> str:
    """The response media type: graphql-response+json when the client prefers it (or likes
    both equally); application/json otherwise, including without an Accept header."""
    weights = {JSON: -1.0, GRAPHQL_RESPONSE: -1.0}
    for part in (accept or "").split(","):
        media, *params = (piece.strip() for piece in part.split(";"))
        media = media.lower()
        if media not in weights:
            continue
        weight = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        weights[media] = max(weights[media], weight)
    if weights[GRAPHQL_RESPONSE] > 0 and weights[GRAPHQL_RESPONSE] >= weights[JSON]:
        return GRAPHQL_RESPONSE
    return JSON


def _graphql_response(response: Response, context: EdgeContext) -> Response:
    """200 when the operation ran; a request error (nothing ran) is a 4xx without `data`."""
    skip = ("content-length", "content-type")
    headers = {name: value for name, value in response.headers.items() if name not in skip}
    record = context.operation
    if record.executed:
        return Response(response.body, response.status_code, headers, GRAPHQL_RESPONSE)
    body = orjson.loads(response.body)
    body.pop("data", None)
    status = 500 if record.refused is ErrorCode.INTERNAL else 400
    if record.refused is ErrorCode.RATE_LIMITED and record.budget is not None:
        status = 429
        wait = record.budget.reset_at - context.runtime.clock.now()
        headers["Retry-After"] = str(max(1, math.ceil(wait.total_seconds())))
    return Response(orjson.dumps(body), status, headers, GRAPHQL_RESPONSE)


def _http_error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    code = _STATUS_CODES.get(status, HttpErrorCode.BAD_REQUEST.value)
    return Response(error_body(code, message), status, headers, JSON)


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
