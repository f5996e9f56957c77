"""The limits every operation passes before anything runs (OWASP GraphQL cheat sheet):
tokens at parse time; the expanded size, depth, aliases and repeated selections of the
document before validation (schema.document_size, linear in the text, so that validation
only ever walks a bounded document); then the variables, text lengths, page sizes, cost and
the caller's budget once the variables are known. Each refusal is a top-level error with
`extensions.code` (`QUERY_TOO_COMPLEX`, `VALIDATION` for a variable, a text or a page size,
`RATE_LIMITED`).

`LimitedParserCache` gives the parser its token limit; schema.validation checks the size
and validates; `OperationBudget` does the rest.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from graphql import ExecutionResult as GraphQLExecutionResult
from graphql import GraphQLError, get_operation_ast
from strawberry.extensions import ParserCache, SchemaExtension

from app.config import Settings
from app.domain.errors import ErrorCode
from resolvers.errors import PublicError
from schema import strawberry_internals
from schema.budget import Budget, BudgetStore
from schema.cost import CostCache, PageSizeOutOfRange, operation_cost
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
    return copy_error(error, error.message, {**(error.extensions or {}), **extensions})


def copy_error(
    error: GraphQLError, message: str, extensions: dict[str, Any] | None
) -> GraphQLError:
    return GraphQLError(
        message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=error.original_error,
        extensions=extensions,
    )


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
        schema, variables = (
            strawberry_internals.graphql_schema(execution.schema),
            execution.variables,
        )
        errors = variable_errors(schema, operation, variables, production=self.production)
        too_long = None if errors else text_too_long(document, operation, variables)
        return errors or ([too_long] if too_long else [])

    async def _check(self, record: OperationRecord) -> list[GraphQLError]:
        execution = self.execution_context
        assert execution.graphql_document is not None
        try:
            cost = self.costs.cost(
                strawberry_internals.graphql_schema(execution.schema),
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
