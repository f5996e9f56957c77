"""The limits every operation passes before anything runs (OWASP GraphQL cheat sheet):
tokens at parse time; the expanded size, depth, aliases and repeated selections of the
document before validation (schema.document_size, linear in the text, so that validation
only ever walks a bounded document); then the variables, text lengths, page sizes, cost and
the caller's budget once the variables are known. Each refusal is a top-level error with
`extensions.code` (`QUERY_TOO_COMPLEX`, `VALIDATION` for a variable, a text or a page size,
`RATE_LIMITED`).

`LimitedParserCache` gives the parser its token limit; `LimitedValidation` checks the size
and validates, remembered per document (the rule classes are built once per schema, so the
cache key stays equal).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, replace
from datetime import timedelta
from functools import lru_cache
from typing import Any

from graphql import (
    ASTValidationRule,
    DocumentNode,
    GraphQLError,
    GraphQLSchema,
    Node,
    get_operation_ast,
)
from graphql import ExecutionResult as GraphQLExecutionResult
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import ParserCache, SchemaExtension
from strawberry.schema.schema import validate_document

from app.config import Settings
from app.domain.errors import ErrorCode
from resolvers.errors import PublicError
from schema.budget import Budget, BudgetStore
from schema.cost import CostCache, PageSizeOutOfRange, operation_cost
from schema.document_size import measure, repeated_pairs
from schema.edge import OperationRecord, before_execution, budget_key, operation_record
from schema.request_values import text_too_long, variable_errors


@dataclass(frozen=True)
class EdgeLimits:
    max_depth: int
    max_aliases: int
    max_tokens: int
    max_fields: int
    max_repeated_pairs: int
    max_cost: int
    rate_limit_points: int
    rate_limit_window: timedelta

    @classmethod
    def of(cls, settings: Settings | None) -> EdgeLimits:
        """From the settings; without them (the SDL export), the settings' defaults."""

        def value(name: str) -> Any:
            if settings is not None:
                return getattr(settings, name)
            return Settings.model_fields[name].default

        return cls(
            max_depth=value("max_query_depth"),
            max_aliases=value("max_query_aliases"),
            max_tokens=value("max_query_tokens"),
            max_fields=value("max_query_fields"),
            max_repeated_pairs=value("max_query_repeated_pairs"),
            max_cost=value("max_query_cost"),
            rate_limit_points=value("rate_limit_points"),
            rate_limit_window=timedelta(seconds=value("rate_limit_window_seconds")),
        )


def with_extensions(error: GraphQLError, **extensions: Any) -> GraphQLError:
    """A copy of the error with more extensions (cached validation errors stay untouched)."""
    return _copy(error, error.message, {**(error.extensions or {}), **extensions})


def _copy(error: GraphQLError, message: str, extensions: dict[str, Any] | None) -> GraphQLError:
    return GraphQLError(
        message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=error.original_error,
        extensions=extensions,
    )


class _IntrospectionRule(NoSchemaIntrospectionCustomRule):
    """Coded, so its message (which names only the requested field) survives production."""

    def report_error(self, error: GraphQLError) -> None:
        super().report_error(with_extensions(error, code=ErrorCode.VALIDATION.value))


def validation_rules(limits: EdgeLimits, *, production: bool) -> list[type[ASTValidationRule]]:
    """Rules beyond graphql-core's; depth and aliases are checked before validation
    (`size_refusals`). Built once per schema, so ValidationCache keys stay equal."""
    return [_IntrospectionRule] if production else []


def size_refusals(document: DocumentNode, limits: EdgeLimits) -> list[GraphQLError]:
    """The expanded size, depth, aliases and repeated selections against the limits: linear
    in the document's text, so it runs before validation, which walks the expanded one."""
    try:
        size = measure(document)
        if size.fields > limits.max_fields:
            return [
                _too_complex(
                    f"This document selects {size.fields} fields once its fragments are spread; "
                    f"the most allowed is {limits.max_fields}."
                )
            ]
        refusals = [
            _too_complex(
                f"'{o.name}' exceeds maximum operation depth of {limits.max_depth}", o.node
            )
            for o in size.operations
            if o.size.depth > limits.max_depth + 1  # strawberry's count: 0 for the top level
        ]
        if size.aliases > limits.max_aliases:
            refusals.append(
                _too_complex(f"{size.aliases} aliases found. Allowed: {limits.max_aliases}")
            )
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


def _too_complex(message: str, node: Node | None = None) -> GraphQLError:
    return GraphQLError(message, node, extensions={"code": ErrorCode.QUERY_TOO_COMPLEX.value})


HIDDEN_VALIDATION_MESSAGE = "The document is not valid for this API."


class DocumentValidator:
    """The edge's size limits, then validation (graphql-core's rules with strawberry's and
    ours), for requests and for `fulfillment documents register` alike. Validation errors
    get `extensions.code` VALIDATION; with `hide_messages` (production) their messages are
    replaced by one that names nothing, since they would confirm field, argument and type
    names to a caller who cannot introspect. `cached` is the same, remembered per document."""

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
        refusals = size_refusals(document, self.limits)
        if refusals:
            return refusals
        return [self._coded(error) for error in validate_document(schema, document, rules)]

    def _coded(self, error: GraphQLError) -> GraphQLError:
        if (error.extensions or {}).get("code") is not None:
            return error
        message = HIDDEN_VALIDATION_MESSAGE if self.hide_messages else error.message
        return _copy(error, message, {"code": ErrorCode.VALIDATION.value})


class LimitedParserCache(ParserCache):
    """ParserCache with the token limit (graphql-core's `max_tokens`, part of the cache key)
    and `extensions.code` on the parser's refusal: one extension hook instead of two (each
    extension's hooks are wrapped anew on every request). The parser's error leaves the
    operation as an exception, which strawberry answers as the result."""

    def __init__(self, *, maxsize: int, max_tokens: int) -> None:
        super().__init__(maxsize=maxsize)
        self.max_tokens = max_tokens

    def on_parse(self) -> Iterator[None]:
        self.execution_context.parse_options["max_tokens"] = self.max_tokens
        try:
            yield from super().on_parse()
        except GraphQLError as error:
            raise _token_coded(error) from None


def _token_coded(error: GraphQLError) -> GraphQLError:
    # graphql-core's wording: "Document contains more than N tokens. Parsing aborted."
    if error.original_error is None and "Document contains more than" in error.message:
        return with_extensions(error, code=ErrorCode.QUERY_TOO_COMPLEX.value)
    return error


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
            execution.schema._schema,
            execution.graphql_document,
            execution.validation_rules + self.rules,
        )
        yield


def _refusal(code: ErrorCode, message: str, **extensions: Any) -> PublicError:
    error = PublicError(code, message)
    error.extensions = {**(error.extensions or {}), **extensions}
    return error


class OperationBudget(SchemaExtension):
    """After validation, before execution: the variables and text lengths
    (schema.request_values), page sizes, the cost, then the caller's budget. A refusal
    becomes the result, so graphql-core never executes the operation. Every response
    reports the caller's budget in `extensions.rateLimit`."""

    def __init__(
        self,
        *,
        max_cost: int,
        budgets: BudgetStore,
        costs: CostCache | None = None,
        production: bool = False,
    ) -> None:
        self.max_cost = max_cost
        self.budgets = budgets
        self.costs = costs or CostCache()
        self.production = production
        self.budget: Budget | None = None
        self.cost: int | None = None

    async def on_execute(self) -> AsyncIterator[None]:
        execution = self.execution_context
        await before_execution(execution)
        record = operation_record(execution.context)
        try:
            refusals = self._values() or await self._check(record)
        except Exception as exc:  # a bug here, or a budget store that is down
            # Strawberry would answer an exception from this hook with its bare message;
            # as the result it is logged with its traceback and masked like any other bug.
            refusals = [GraphQLError(str(exc), original_error=exc)]
        if not refusals:
            record.executed = True
        else:
            record.refused = getattr(refusals[0], "code", ErrorCode.INTERNAL)
            execution.result = GraphQLExecutionResult(data=None, errors=refusals)
        yield

    def _values(self) -> list[GraphQLError]:
        execution = self.execution_context
        document = execution.graphql_document
        assert document is not None
        operation = get_operation_ast(document, execution.operation_name)
        if operation is None:  # strawberry refuses an unknown operation name before this
            return []
        schema, variables = execution.schema._schema, execution.variables
        sent = f"{execution.query}{variables}" if self.production else None
        errors = variable_errors(schema, operation, variables, request_text=sent)
        too_long = None if errors else text_too_long(document, operation, variables)
        return errors or ([too_long] if too_long else [])

    async def _check(self, record: OperationRecord) -> list[GraphQLError]:
        execution = self.execution_context
        assert execution.graphql_document is not None
        try:
            cost = self.costs.cost(
                execution.schema._schema,
                execution.graphql_document,
                execution.operation_name,
                execution.variables,
                compute=operation_cost,
            )
        except PageSizeOutOfRange as exc:
            return [_refusal(ErrorCode.VALIDATION, str(exc))]
        record.cost = self.cost = cost
        if cost > self.max_cost:
            return [
                _refusal(
                    ErrorCode.QUERY_TOO_COMPLEX,
                    f"This operation would cost {cost} points; the most one may cost is "
                    f"{self.max_cost}. Ask for smaller pages or fewer nested connections.",
                    cost=cost,
                    maxCost=self.max_cost,
                )
            ]
        context = execution.context
        self.budget = await self.budgets.spend(
            budget_key(context), cost, context.runtime.clock.now()
        )
        record.budget = self.budget
        if not self.budget.allowed:
            return [
                _refusal(
                    ErrorCode.RATE_LIMITED,
                    f"This operation costs {cost} points and {self.budget.remaining} are left "
                    f"until {self.budget.reset_at.isoformat()}.",
                    cost=cost,
                    resetAt=self.budget.reset_at.isoformat(),
                )
            ]
        return []

    async def get_results(self) -> dict[str, Any]:
        budget = self.budget
        if budget is None:  # refused before spending (or never validated): what is left
            context = self.execution_context.context
            runtime = getattr(context, "runtime", None)
            if runtime is None:
                return {}
            budget = await self.budgets.peek(budget_key(context), runtime.clock.now())
            budget = replace(budget, cost=self.cost or 0)
        return {"rateLimit": budget.as_extension()}
