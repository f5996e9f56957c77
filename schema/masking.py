"""What a client may learn from an error. Unexpected errors reach it as "Unexpected error."
with the request id that the log line carrying the traceback also has. In production,
validation messages are replaced by a generic one (schema.validation) and every other
message loses graphql-core's "Did you mean ...?" hints, which would otherwise spell out the
schema to a caller who cannot introspect it."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator

from graphql import GraphQLError
from strawberry.extensions import MaskErrors
from strawberry.types import ExecutionContext

from app.domain.errors import ErrorCode
from resolvers.errors import is_public

logger = logging.getLogger("fulfillment.graphql")

_SUGGESTION = re.compile(r"\s*Did you mean .*\?\s*$", re.DOTALL)


def request_id_in(execution_context: ExecutionContext | None) -> str | None:
    request_id = getattr(getattr(execution_context, "context", None), "request_id", None)
    return request_id if isinstance(request_id, str) else None


def log_unexpected(errors: list[GraphQLError], execution_context: ExecutionContext | None) -> None:
    """One line per bug, with the request id the client was given and the traceback."""
    request_id = request_id_in(execution_context)
    for error in errors:
        if is_public(error):
            continue
        logger.error(
            "Unexpected error in request %s at %s: %s",
            request_id,
            ".".join(str(key) for key in error.path or ()) or "-",
            error.message,
            exc_info=error.original_error,
        )


class MaskWithRequestId(MaskErrors):
    """Masks unexpected errors; with `hide_suggestions` (production) it also takes the "Did
    you mean ...?" hints out of every message (fields, arguments, types, enums). One extension
    for both: each extension's hooks are wrapped anew on every request."""

    def __init__(
        self, should_mask_error: Callable[[GraphQLError], bool], *, hide_suggestions: bool = False
    ) -> None:
        super().__init__(should_mask_error=should_mask_error)
        self.hide_suggestions = hide_suggestions

    def on_operation(self) -> Iterator[None]:
        yield from super().on_operation()
        if not self.hide_suggestions:
            return
        result = self.execution_context.result
        errors = getattr(result, "errors", None)
        if errors:
            result.errors = [without_suggestion(error) for error in errors]  # type: ignore[union-attr]

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        masked = super().anonymise_error(error)
        masked.extensions = {
            "code": ErrorCode.INTERNAL.value,
            "requestId": request_id_in(self.execution_context),
        }
        return masked


def without_suggestion(error: GraphQLError) -> GraphQLError:
    message = _SUGGESTION.sub("", error.message)
    if message == error.message:
        return error
    return GraphQLError(
        message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=error.original_error,
        extensions=error.extensions,
    )
