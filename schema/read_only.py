"""A staff read-only view (app/services/staff/view_as.py) changes nothing: every root
Mutation field answers READ_ONLY_VIEW, a typed error every mutation's result union carries
(RuleViolation), before its resolver runs. Installed on the built schema by wrapping only
the Mutation fields' resolvers, so queries pay nothing for it."""

from __future__ import annotations

from typing import Any

import strawberry
from graphql import GraphQLResolveInfo

from app.domain.errors import DomainError, ErrorCode
from schema.errors import user_error

READ_ONLY = DomainError(
    ErrorCode.READ_ONLY_VIEW,
    "This is a read-only staff view of the customer: nothing can be changed with it.",
)


def _guarded(resolve: Any) -> Any:
    def guarded(source: Any, info: GraphQLResolveInfo, **kwargs: Any) -> Any:
        principal = getattr(info.context, "principal", None)
        if principal is not None and principal.read_only:
            return user_error(READ_ONLY)
        return resolve(source, info, **kwargs)

    return guarded


def install(schema: strawberry.Schema) -> int:
    """Wrap every root Mutation field's resolver; returns how many."""
    mutation = schema._schema.mutation_type
    if mutation is None:
        return 0
    for field in mutation.fields.values():
        field.resolve = _guarded(field.resolve)
    return len(mutation.fields)
