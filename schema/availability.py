"""A GraphQL request the database could not serve right now (no free connection within the
pool's wait, or a connection lost under it), wherever in execution that happened, is answered
as a whole with app.http.unavailable's 503: a retryable refusal, neither a masked bug nor a
partial answer with holes where the reads failed. (Raised before execution, while the view
authenticates, the app's exception handler gives the same answer.)"""

from __future__ import annotations

from graphql import GraphQLError
from strawberry.types import ExecutionContext

from app.db.availability import unavailable_cause
from app.http.unavailable import log_unavailable
from resolvers.context import RequestContext


def note_unavailable(
    errors: list[GraphQLError], execution_context: ExecutionContext | None
) -> list[GraphQLError]:
    """Notes on the request context the first error the database's unavailability caused (the
    view then answers 503); returns the other errors."""
    context = getattr(execution_context, "context", None)
    others = []
    for error in errors:
        cause = unavailable_cause(error.original_error)
        if cause is None:
            others.append(error)
        elif isinstance(context, RequestContext) and context.database_unavailable is None:
            log_unavailable(context.request_id, cause)
            context.database_unavailable = cause
    return others
