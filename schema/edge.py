"""What the HTTP edge knows about one GraphQL request, beside the RequestContext resolvers use:
the caller's address (the rate-limit key of anonymous callers) and what the limits decided."""

from __future__ import annotations

from dataclasses import dataclass

from graphql import get_operation_ast
from strawberry.types import ExecutionContext
from strawberry.types.graphql import OperationType

from app.auth.principals import Principal
from app.domain.errors import ErrorCode
from app.observability.context import current_observation
from app.runtime import Runtime
from resolvers.context import RequestContext
from schema.budget import Budget


@dataclass
class OperationRecord:
    """Filled in by the limit extensions, read by the view to pick the HTTP status."""

    executed: bool = False
    cost: int | None = None
    refused: ErrorCode | None = None
    budget: Budget | None = None


class EdgeContext(RequestContext):
    def __init__(
        self,
        runtime: Runtime,
        principal: Principal,
        request_id: str | None = None,
        client_host: str | None = None,
    ) -> None:
        super().__init__(runtime, principal, request_id)
        self.client_host = client_host
        self.operation = OperationRecord()
        # A persisted document request's `documentId` (schema.trusted_documents reads it).
        self.document_id: str | None = None


def operation_record(context: object) -> OperationRecord:
    """The record on an EdgeContext; a throwaway one for other contexts (direct execution)."""
    record = getattr(context, "operation", None)
    return record if isinstance(record, OperationRecord) else OperationRecord()


def budget_key(context: object) -> str:
    """Whose budget an operation spends: the principal's, or the client address's."""
    principal = getattr(context, "principal", None)
    if isinstance(principal, Principal) and principal.is_authenticated:
        return f"{principal.kind.value.lower()}:{principal.id}"
    return f"ip:{getattr(context, 'client_host', None) or 'unknown'}"


async def before_execution(execution: ExecutionContext) -> None:
    """The view authenticates in the session the request then reads with: one transaction
    instead of two. A mutation commits in sessions of its own and reads the outcome back
    (`orderPlace { order { invoice } }`); a transaction begun before that commit may not see
    it (a SQLite read snapshot), so before a mutation runs the request's session is closed
    and its reads open a new one, as they did before the session was shared. Called by the
    first extension hook that runs after validation (limits.OperationBudget.on_execute).

    It also tells the request metrics what is about to run: the kind, and the operation's
    name as the validated document has it (a bounded label, app.observability.operations)."""
    _observe(execution)
    if execution.operation_type is OperationType.MUTATION:
        context = execution.context
        if isinstance(context, RequestContext):
            await context.close()


def _observe(execution: ExecutionContext) -> None:
    observation = current_observation()
    context = execution.context
    if observation is None or not isinstance(context, RequestContext):
        return
    observation.kind = execution.operation_type.value
    document = execution.graphql_document
    operation = get_operation_ast(document, execution.operation_name) if document else None
    if operation is not None and operation.name is not None:
        observation.operation = context.runtime.metrics.operations.label(operation.name.value)
