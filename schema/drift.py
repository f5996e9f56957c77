"""Drift for staff: the admin tasks the drift job raises for differences in money, resolving
one, and resyncing a subscription (docs/operations.md "Drift detection")."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from app.db import tables
from app.domain.errors import DomainError
from resolvers import drift as resolve
from resolvers import subscriptions
from resolvers.ids import to_global_id
from schema import described
from schema.common import Node
from schema.enums import AdminTaskKind, AdminTaskStatus
from schema.errors import NotFoundError, RuleViolation, ValidationError, result_union, user_error
from schema.subscriptions import Subscription

RequiredReason = Annotated[
    str, strawberry.argument(description="Why, for the audit log (1-1000 characters).")
]


@strawberry.type(description="Work for staff that no job may do itself, e.g. money that drifted.")
class AdminTask(Node):
    kind: AdminTaskKind
    status: AdminTaskStatus
    detail: str = strawberry.field(description="What differs, with both values.")
    created_at: datetime
    resolved_at: datetime | None
    resolved_by: str | None
    resolution: str | None = strawberry.field(description="The resolving admin's reason.")
    _subscription_id: strawberry.Private[int]

    @classmethod
    def from_row(cls, row: tables.AdminTask) -> AdminTask:
        assert row.id is not None
        return cls(
            id=strawberry.ID(to_global_id("AdminTask", row.id)),
            kind=row.kind,
            status=row.status,
            detail=row.detail,
            created_at=row.created_at,
            resolved_at=row.resolved_at,
            resolved_by=row.resolved_by,
            resolution=row.resolution,
            _subscription_id=row.subscription_id,
        )

    @strawberry.field
    async def subscription(self, info: strawberry.Info) -> Subscription | None:
        view = await subscriptions.by_id(info.context, self._subscription_id)
        return None if view is None else Subscription.from_view(view)


@strawberry.type
class AdminTaskResolvePayload:
    admin_task: AdminTask


@strawberry.type
class SubscriptionResyncPayload:
    subscription: Subscription


AdminTaskResolveResult = result_union(
    "AdminTaskResolveResult", AdminTaskResolvePayload, ValidationError, NotFoundError, RuleViolation
)
SubscriptionResyncResult = result_union(
    "SubscriptionResyncResult",
    SubscriptionResyncPayload,
    ValidationError,
    NotFoundError,
    RuleViolation,
)


@strawberry.type
class DriftMutations:
    @described.mutation(
        description="Staff only: mark an admin task resolved, with the reason (audited). "
        "Nothing else changes: money at the provider is dealt with there."
    )
    async def admin_task_resolve(
        self, info: strawberry.Info, id: strawberry.ID, reason: RequiredReason
    ) -> AdminTaskResolveResult:  # type: ignore[valid-type]
        found = await resolve.resolve_task(info.context, id, reason)
        if isinstance(found, DomainError):
            return user_error(found)
        return AdminTaskResolvePayload(admin_task=AdminTask.from_row(found))

    @described.mutation(
        description="Staff only: push the subscription's local copy to the billing provider "
        "and the CRM again and check it for drift as soon as the pushes are done (audited)."
    )
    async def subscription_resync(
        self, info: strawberry.Info, id: strawberry.ID, reason: RequiredReason
    ) -> SubscriptionResyncResult:  # type: ignore[valid-type]
        found = await resolve.resync(info.context, id, reason)
        if isinstance(found, DomainError):
            return user_error(found)
        return SubscriptionResyncPayload(subscription=Subscription.from_view(found))
