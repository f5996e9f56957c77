"""The limits every operation passes before anything runs (OWASP GraphQL cheat sheet):
tokens at parse time, depth and aliases at validation time, then page sizes, cost and the
caller's budget once the variables are known. Each refusal is a top-level error with
`extensions.code` (`QUERY_TOO_COMPLEX`, `VALIDATION` for a page size, `RATE_LIMITED`).

Depth and alias rules are strawberry's (the rules inside QueryDepthLimiter and
MaxAliasesLimiter), built once per schema: those extensions make a new rule class per
instance, i.e. per request as factories, and ValidationCache keys on the rule classes, so it
would never hit. With the same classes every time, a repeated document is validated once.
`LimitedParserCache` gives the parser its token limit.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from graphql import ASTValidationRule, GraphQLError, ValidationContext
from graphql import ExecutionResult as GraphQLExecutionResult
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import ParserCache, SchemaExtension, ValidationCache
from strawberry.extensions.max_aliases import create_validator as aliases_rule
from strawberry.extensions.query_depth_limiter import create_validator as depth_rule

from app.config import Settings
from app.domain.errors import ErrorCode
from resolvers.errors import PublicError
from schema.budget import Budget, BudgetStore
from schema.cost import CostCache, PageSizeOutOfRange, operation_cost
from schema.edge import OperationRecord, before_execution, budget_key, operation_record


@dataclass(frozen=True)
class EdgeLimits:
    max_depth: int
    max_aliases: int
    max_tokens: int
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
            max_cost=value("max_query_cost"),
            rate_limit_points=value("rate_limit_points"),
            rate_limit_window=timedelta(seconds=value("rate_limit_window_seconds")),
        )


def with_extensions(error: GraphQLError, **extensions: Any) -> GraphQLError:
    """A copy of the error with more extensions (cached validation errors stay untouched)."""
    return GraphQLError(
        error.message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=error.original_error,
        extensions={**(error.extensions or {}), **extensions},
    )


def coded_rule(rule: type[ASTValidationRule], code: ErrorCode) -> type[ASTValidationRule]:
    """The rule, with `extensions.code` on what it reports. Strawberry's depth and alias
    rules check the whole document in their constructor, which is where this applies."""

    class CodedRule(rule):  # type: ignore[valid-type,misc]
        def __init__(self, context: ValidationContext) -> None:
            report = context.on_error
            context.on_error = lambda error: report(with_extensions(error, code=code.value))  # type: ignore[method-assign]
            try:
                super().__init__(context)
            finally:
                context.on_error = report  # type: ignore[method-assign]

    CodedRule.__name__ = CodedRule.__qualname__ = f"Coded{rule.__name__}"
    return CodedRule


def validation_rules(limits: EdgeLimits, *, production: bool) -> list[type[ASTValidationRule]]:
    """Built once per schema: the same classes every request keep ValidationCache hitting."""
    rules = [
        coded_rule(depth_rule(limits.max_depth, None, None), ErrorCode.QUERY_TOO_COMPLEX),
        coded_rule(aliases_rule(limits.max_aliases), ErrorCode.QUERY_TOO_COMPLEX),
    ]
    if production:
        rules.append(NoSchemaIntrospectionCustomRule)
    return rules


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


class RuledValidationCache(ValidationCache):
    """ValidationCache with the edge's rules added (what AddValidationRules did in a hook of
    its own). The rule classes are the same objects every request, so the cache hits."""

    def __init__(self, *, maxsize: int, rules: list[type[ASTValidationRule]]) -> None:
        super().__init__(maxsize=maxsize)
        self.rules = tuple(rules)

    def on_validate(self) -> Iterator[None]:
        execution = self.execution_context
        execution.validation_rules = execution.validation_rules + self.rules
        yield from super().on_validate()


def _refusal(code: ErrorCode, message: str, **extensions: Any) -> PublicError:
    error = PublicError(code, message)
    error.extensions = {**(error.extensions or {}), **extensions}
    return error


class OperationBudget(SchemaExtension):
    """After validation, before execution: page sizes, the cost, then the caller's budget.
    A refusal becomes the result, so graphql-core never executes the operation. Every
    response reports the caller's budget in `extensions.rateLimit`."""

    def __init__(
        self, *, max_cost: int, budgets: BudgetStore, costs: CostCache | None = None
    ) -> None:
        self.max_cost = max_cost
        self.budgets = budgets
        self.costs = costs or CostCache()
        self.budget: Budget | None = None
        self.cost: int | None = None

    async def on_execute(self) -> AsyncIterator[None]:
        execution = self.execution_context
        await before_execution(execution)
        record = operation_record(execution.context)
        try:
            refusal: GraphQLError | None = await self._check(record)
        except Exception as exc:  # a bug here, or a budget store that is down
            # Strawberry would answer an exception from this hook with its bare message;
            # as the result it is logged with its traceback and masked like any other bug.
            refusal = GraphQLError(str(exc), original_error=exc)
        if refusal is None:
            record.executed = True
        else:
            record.refused = getattr(refusal, "code", ErrorCode.INTERNAL)
            execution.result = GraphQLExecutionResult(data=None, errors=[refusal])
        yield

    async def _check(self, record: OperationRecord) -> PublicError | None:
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
            return _refusal(ErrorCode.VALIDATION, str(exc))
        record.cost = self.cost = cost
        if cost > self.max_cost:
            return _refusal(
                ErrorCode.QUERY_TOO_COMPLEX,
                f"This operation would cost {cost} points; the most one may cost is "
                f"{self.max_cost}. Ask for smaller pages or fewer nested connections.",
                cost=cost,
                maxCost=self.max_cost,
            )
        context = execution.context
        self.budget = await self.budgets.spend(
            budget_key(context), cost, context.runtime.clock.now()
        )
        record.budget = self.budget
        if not self.budget.allowed:
            return _refusal(
                ErrorCode.RATE_LIMITED,
                f"This operation costs {cost} points and {self.budget.remaining} are left "
                f"until {self.budget.reset_at.isoformat()}.",
                cost=cost,
                resetAt=self.budget.reset_at.isoformat(),
            )
        return None

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
