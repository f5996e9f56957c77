"""A request the database could not serve right now (no free connection within the pool's
wait, or a connection lost under it) is answered as a whole with HTTP 503,
`SERVICE_UNAVAILABLE` and `Retry-After`: a retryable refusal, neither a masked bug nor a
partial answer with holes where the reads failed. Nothing is logged as a bug for it; one
warning per request carries the pool's figures."""

from __future__ import annotations

import logging

from graphql import GraphQLError
from starlette.responses import Response
from strawberry.types import ExecutionContext

from app.db.availability import RETRY_AFTER_SECONDS, unavailable_cause
from app.http.errors import HttpErrorCode, error_body
from resolvers.context import RequestContext

logger = logging.getLogger("fulfillment.http")


def note_unavailable(
    errors: list[GraphQLError], execution_context: ExecutionContext | None
) -> list[GraphQLError]:
    """Notes on the request context the first error the database's unavailability caused;
    returns the other errors."""
    context = getattr(execution_context, "context", None)
    others = []
    for error in errors:
        cause = unavailable_cause(error.original_error)
        if cause is None:
            others.append(error)
        elif isinstance(context, RequestContext) and context.database_unavailable is None:
            note(context.request_id, cause)
            context.database_unavailable = cause
    return others


def note(request_id: str | None, cause: BaseException) -> None:
    logger.warning("Request %s refused, the database is unavailable: %s", request_id, cause)


def unavailable_response() -> Response:
    body = error_body(
        HttpErrorCode.SERVICE_UNAVAILABLE.value,
        "The service cannot take this request right now; try again in a moment.",
    )
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
    return Response(body, 503, headers, media_type="application/json")
