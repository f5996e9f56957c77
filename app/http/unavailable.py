"""The answer when the database cannot serve a request right now (app.db.availability): HTTP
503, `Retry-After`, and `SERVICE_UNAVAILABLE` in the GraphQL error shape, on every route.
A moment of overload or a lost connection is a refusal to retry, not a bug: one warning with
the pool's figures, no traceback, and never a 500."""

from __future__ import annotations

import logging

from sqlalchemy import exc
from starlette.requests import Request
from starlette.responses import Response

from app.db.availability import RETRY_AFTER_SECONDS, unavailable_cause
from app.http.errors import HttpErrorCode, error_body
from app.http.request_id import request_id_of

logger = logging.getLogger("fulfillment.http")


def unavailable_response() -> Response:
    body = error_body(
        HttpErrorCode.SERVICE_UNAVAILABLE.value,
        "The service cannot take this request right now; try again in a moment.",
    )
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
    return Response(body, 503, headers, media_type="application/json")


def log_unavailable(request_id: str | None, cause: BaseException) -> None:
    logger.warning("Request %s refused, the database is unavailable: %s", request_id, cause)


async def _refuse(request: Request, error: Exception) -> Response:
    """Starlette's handler for what a route raised: the 503 when the database was unavailable;
    anything else is raised again (a bug: the 500 and its traceback)."""
    cause = unavailable_cause(error)
    if cause is None:
        raise error
    log_unavailable(request_id_of(request.scope), cause)
    return unavailable_response()


# For Starlette(exception_handlers=...): the pool's wait ran out, or a connection broke.
EXCEPTION_HANDLERS = {exc.TimeoutError: _refuse, exc.DBAPIError: _refuse}
