"""The schema object with its extensions, one per environment profile."""

from __future__ import annotations

import strawberry
from graphql import GraphQLError
from strawberry.extensions import MaskErrors, ParserCache, ValidationCache
from strawberry.types import ExecutionContext

from resolvers.errors import is_public
from schema.mutation import Mutation
from schema.query import Query

# Concrete types reached only through the Node interface must be listed explicitly.
from schema.subscriptions import AddOnPurchase


class Schema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Expected errors (auth, validation, provider outages) are answers, not incidents."""
        unexpected = [error for error in errors if not is_public(error)]
        if unexpected:
            super().process_errors(unexpected, execution_context)


def build_schema(*, production: bool = False) -> strawberry.Schema:
    # Factories: a fresh extension per request; the parse/validation LRU caches are shared.
    extensions = [
        lambda: ParserCache(maxsize=256),
        lambda: ValidationCache(maxsize=256),
        lambda: MaskErrors(should_mask_error=lambda error: not is_public(error)),
    ]
    return Schema(query=Query, mutation=Mutation, types=[AddOnPurchase], extensions=extensions)


schema = build_schema()
