"""The schema object with its extensions, one per environment profile."""

from __future__ import annotations

from collections.abc import Callable

import strawberry
from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from app.config import Settings, TrustedDocumentsMode
from app.services.trusted_documents import TrustedDocumentCache
from resolvers.errors import is_public
from schema import fastpath, read_only, strawberry_internals
from schema.availability import note_unavailable
from schema.budget import BudgetStore, InMemoryBudgets
from schema.compiled.executor import CompiledDocuments, executor_class
from schema.cost import CostCache
from schema.limits import (
    EdgeLimits,
    LimitedParserCache,
    OperationBudget,
)
from schema.masking import MaskWithRequestId, log_unexpected
from schema.minor_units import SCALARS
from schema.mutation import Mutation
from schema.nul_text import NoNulText
from schema.query import Query

# Concrete types reached only through the Node interface must be listed explicitly.
from schema.subscriptions import AddOnPurchase
from schema.trusted_documents import TrustedDocuments
from schema.validation import DocumentValidator, LimitedValidation, validation_rules


class Schema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Expected errors (auth, validation, provider outages) are answers, not incidents;
        so is a database that cannot serve right now (the view then answers 503)."""
        log_unexpected(note_unavailable(errors, execution_context), execution_context)


def build_schema(
    settings: Settings | None = None,
    *,
    production: bool | None = None,
    budgets: BudgetStore | None = None,
) -> strawberry.Schema:
    """The schema with the limits of `settings` (their defaults without). Budgets live in
    this process unless a shared store is handed in."""
    production = settings.is_production if production is None and settings else bool(production)
    limits = EdgeLimits.of(settings)
    rules = validation_rules(production=production)
    validator = DocumentValidator(limits, hide_messages=production, maxsize=256)
    budgets = budgets or InMemoryBudgets(limits.rate_limit_points, limits.rate_limit_window)
    costs = CostCache(maxsize=256)
    mode = settings.trusted_documents if settings else TrustedDocumentsMode.OFF
    documents = TrustedDocumentCache()
    # Factories: a fresh extension per request; the parse/validation LRU caches are shared.
    extensions: list[Callable[[], SchemaExtension]] = [
        lambda: TrustedDocuments(mode=mode, cache=documents),
        lambda: LimitedParserCache(maxsize=256, max_tokens=limits.max_tokens),
        lambda: LimitedValidation(validator=validator, rules=rules),
        NoNulText,  # after validation: a document it refuses never executes
        lambda: OperationBudget(
            max_cost=limits.max_cost, budgets=budgets, costs=costs, production=production
        ),
        lambda: MaskWithRequestId(
            should_mask_error=lambda error: not is_public(error), hide_suggestions=production
        ),
    ]
    compiled = executor_class() if settings is None or settings.compiled_documents else None
    built = Schema(
        query=Query,
        mutation=Mutation,
        types=[AddOnPurchase],
        extensions=extensions,
        config=StrawberryConfig(scalar_map=SCALARS),
        execution_context_class=compiled,
    )
    strawberry_internals.check(built)  # at start-up, not in a request, if strawberry changed
    fastpath.install(built)
    if compiled is not None:
        compiled.documents = CompiledDocuments(built)
    read_only.install(built)
    return built


schema = build_schema()
