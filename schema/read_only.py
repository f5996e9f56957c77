"""A staff read-only view (app/services/staff/view_as.py) changes nothing: every root
Mutation field is refused with the top-level error READ_ONLY_VIEW before its resolver runs
(like FORBIDDEN: not an answer of the mutation, so no result union needs to carry it).
Installed on the built schema by wrapping only the Mutation fields' resolvers, so queries
pay nothing for it."""

from __future__ import annotations

from typing import Any

import strawberry

from app.domain.errors import ErrorCode
from resolvers.errors import PublicError
from schema import strawberry_internals

READ_ONLY_MESSAGE = (
    "This is a read-only staff view of the customer: nothing can be changed with it."
)


def _guarded(resolve: Any) -> Any:
    def guarded(source: Any, info: Any, **kwargs: Any) -> Any:
        principal = getattr(info.context, "principal", None)
        if principal is not None and principal.read_only:
            raise PublicError(ErrorCode.READ_ONLY_VIEW, READ_ONLY_MESSAGE)
        return resolve(source, info, **kwargs)

    return guarded


def install(schema: strawberry.Schema) -> int:
    """Wrap every root Mutation field's resolver; returns how many."""
    mutation = strawberry_internals.graphql_schema(schema).mutation_type
    if mutation is None:
        return 0
    for field in mutation.fields.values():
        field.resolve = _guarded(field.resolve)
    return len(mutation.fields)
