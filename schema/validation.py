"""The validation step: the document's size against the edge's limits first (linear in its
text, schema.document_size), then graphql-core's rules with strawberry's and ours, which
walk the document with its fragments expanded and so only ever see a bounded one. The same
for requests (`LimitedValidation`, remembered per document) and for `fulfillment documents
register` (`DocumentValidator.validate`).

Validation errors get `extensions.code` VALIDATION. In production their messages are
replaced by one that names nothing: "Cannot query field 'x' on type 'Y'", "argument 'a' of
type 'T!' is required" and the like confirm field, type and argument names to a caller who
cannot introspect (a schema-guessing tool recovered most of the schema from them). The
locations stay, and development keeps graphql-core's messages.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache

from graphql import (
    ASTValidationRule,
    DocumentNode,
    GraphQLError,
    GraphQLSchema,
    KnownFragmentNamesRule,
    Node,
    NoFragmentCyclesRule,
)
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document

from app.domain.errors import ErrorCode
from schema import strawberry_internals
from schema.document_size import DocumentSize, measure, repeated_pairs
from schema.limits import EdgeLimits, copy_error, with_extensions

HIDDEN_VALIDATION_MESSAGE = "The document is not valid for this API."

# Checked first, each in one linear pass: the size limits are counted by expanding spreads,
# which is only bounded when every spread names a fragment and none spreads itself. A chain
# of fragments each spreading the previous twice and ending in `...Nowhere` counts 0 fields,
# and fragments spreading one another walk every path of the cycle: the walk of repeated
# selections took 0.5 s at 18 lines and minutes at 30, before any rule ran.
FRAGMENT_GRAPH_RULES: tuple[type[ASTValidationRule], ...] = (
    KnownFragmentNamesRule,
    NoFragmentCyclesRule,
)


class _IntrospectionRule(NoSchemaIntrospectionCustomRule):
    """Coded, so its message (which names only the requested field) survives production."""

    def report_error(self, error: GraphQLError) -> None:
        super().report_error(with_extensions(error, code=ErrorCode.VALIDATION.value))


def validation_rules(*, production: bool) -> list[type[ASTValidationRule]]:
    """Rules beyond graphql-core's; depth and aliases are checked before validation
    (`size_refusals`). Built once per schema, so ValidationCache keys stay equal."""
    return [_IntrospectionRule] if production else []


def size_refusals(document: DocumentNode, limits: EdgeLimits) -> list[GraphQLError]:
    """The expanded size, depth, aliases and repeated selections against the limits, each
    QUERY_TOO_COMPLEX; the messages of depth and aliases are those of strawberry's rules,
    which these counts replace (they walked every spread anew: exponential)."""
    try:
        size = measure(document)
        if size.fields > limits.max_fields:
            return [
                _too_complex(
                    f"This document selects {size.fields} fields once its fragments are "
                    f"spread; the most allowed is {limits.max_fields}."
                )
            ]
        refusals = _depth_and_aliases(size, limits)
        pairs = 0 if refusals else repeated_pairs(document)
    except RecursionError:
        return [_too_complex("This document is nested too deeply.")]
    if pairs > limits.max_repeated_pairs:
        refusals.append(
            _too_complex(
                f"This document selects fields again where they are already selected: {pairs} "
                f"pairs of repeated selections; the most allowed is {limits.max_repeated_pairs}. "
                "Select each field once at each place."
            )
        )
    return refusals


def _depth_and_aliases(size: DocumentSize, limits: EdgeLimits) -> list[GraphQLError]:
    refusals = [
        _too_complex(f"'{o.name}' exceeds maximum operation depth of {limits.max_depth}", o.node)
        for o in size.operations
        if o.size.depth > limits.max_depth + 1  # strawberry's count: 0 for the top level
    ]
    if size.aliases > limits.max_aliases:
        message = f"{size.aliases} aliases found. Allowed: {limits.max_aliases}"
        refusals.append(_too_complex(message))
    return refusals


def _too_complex(message: str, node: Node | None = None) -> GraphQLError:
    return GraphQLError(message, node, extensions={"code": ErrorCode.QUERY_TOO_COMPLEX.value})


class DocumentValidator:
    """The fragment graph's soundness, the size limits, then validation; validation errors
    coded, and with `hide_messages` (production) worded as HIDDEN_VALIDATION_MESSAGE.
    `cached` is `validate` remembered per (schema, document, rules): ParserCache hands back
    the same document for the same text."""

    def __init__(self, limits: EdgeLimits, *, hide_messages: bool, maxsize: int = 256) -> None:
        self.limits = limits
        self.hide_messages = hide_messages
        self.cached = lru_cache(maxsize=maxsize)(self.validate)

    def validate(
        self,
        schema: GraphQLSchema,
        document: DocumentNode,
        rules: tuple[type[ASTValidationRule], ...],
    ) -> list[GraphQLError]:
        unsound = validate_document(schema, document, FRAGMENT_GRAPH_RULES)
        if unsound:
            return [self._coded(error) for error in unsound]
        refusals = size_refusals(document, self.limits)
        if refusals:
            return refusals
        return [self._coded(error) for error in validate_document(schema, document, rules)]

    def _coded(self, error: GraphQLError) -> GraphQLError:
        if (error.extensions or {}).get("code") is not None:
            return error
        message = HIDDEN_VALIDATION_MESSAGE if self.hide_messages else error.message
        return copy_error(error, message, {"code": ErrorCode.VALIDATION.value})


class LimitedValidation(SchemaExtension):
    """The validation step: DocumentValidator.cached with the edge's rules added (what
    AddValidationRules did in a hook of its own). The rule classes are the same objects
    every request, so the cache hits for a repeated document."""

    def __init__(
        self, *, validator: DocumentValidator, rules: list[type[ASTValidationRule]]
    ) -> None:
        self.validator = validator
        self.rules = tuple(rules)

    def on_validate(self) -> Iterator[None]:
        execution = self.execution_context
        assert execution.graphql_document is not None
        execution.pre_execution_errors = self.validator.cached(
            strawberry_internals.graphql_schema(execution.schema),
            execution.graphql_document,
            execution.validation_rules + self.rules,
        )
        yield
