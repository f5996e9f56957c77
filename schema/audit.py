"""The audit log as the API shows it (admins only), and the `reason` argument that every
state-changing mutation takes for it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import strawberry
from strawberry.scalars import JSON

from app.db import tables
from resolvers.audit import AuditEventFilter as AuditEventQuery
from resolvers.errors import invalid
from resolvers.ids import expect_global_id, from_global_id, to_global_id
from schema.common import Node
from schema.enums import PrincipalKind

Reason = Annotated[
    str | None,
    strawberry.argument(
        description="Why, for the audit log (at most 1000 characters). Required when the "
        "caller is an admin; optional for everyone else, and kept when given."
    ),
]


def _target_id(target_type: str, target_id: str) -> str:
    """Targets are named by their global id, as everywhere else in the API."""
    if target_id.isdigit() and len(target_id) <= 18:
        return to_global_id(target_type, int(target_id))
    return target_id


def _utc(moment: datetime | None) -> datetime | None:
    """A DateTime without an offset is read as UTC."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


@strawberry.type(description="Who did what to which object, when, why, and what changed.")
class AuditEvent(Node):
    occurred_at: datetime
    actor_kind: PrincipalKind
    actor_id: str = strawberry.field(
        description="The token id for admins, partners and services; the user id otherwise."
    )
    action: str = strawberry.field(description="What happened, e.g. `order.placed`.")
    target_type: str = strawberry.field(description="The kind of object, e.g. `Subscription`.")
    target_id: strawberry.ID = strawberry.field(description="The object's global id.")
    reason: str | None
    before: JSON | None = strawberry.field(description="The changed fields before.")
    after: JSON | None = strawberry.field(description="The changed fields after.")
    request_id: str | None = strawberry.field(description="The API request that made it.")

    @classmethod
    def from_row(cls, row: tables.AuditEvent) -> AuditEvent:
        assert row.id is not None
        before: Any = row.before
        after: Any = row.after
        return cls(
            id=strawberry.ID(to_global_id("AuditEvent", row.id)),
            occurred_at=row.occurred_at,
            actor_kind=PrincipalKind(row.actor_kind),
            actor_id=row.actor_id,
            action=row.action,
            target_type=row.target_type,
            target_id=strawberry.ID(_target_id(row.target_type, row.target_id)),
            reason=row.reason,
            before=before,
            after=after,
            request_id=row.request_id,
        )


@strawberry.input(description="Every given criterion must hold.")
class AuditEventFilter:
    action: list[str] | None = strawberry.field(
        default=None, description="Any of these actions, e.g. `order.placed`."
    )
    actor_kind: PrincipalKind | None = None
    actor_id: str | None = None
    target_type: str | None = strawberry.field(
        default=None, description="The kind of object, e.g. `Subscription`."
    )
    target_id: strawberry.ID | None = strawberry.field(
        default=None, description="The object's global id."
    )
    occurred_from: datetime | None = strawberry.field(
        default=None, description="At or after (UTC when no offset is given)."
    )
    occurred_until: datetime | None = strawberry.field(
        default=None, description="At or before (UTC when no offset is given)."
    )
    customer_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="About this customer or any object of its: subscriptions (their add-ons "
        "and licenses), invoices, orders, its billing accounts.",
    )

    def to_query(self) -> AuditEventQuery:
        target_type, target_id = self.target_type, None
        if self.target_id is not None:
            parsed = from_global_id(self.target_id)
            if parsed is None:
                raise invalid(f"`{self.target_id}` is not an id from this API.")
            if target_type is not None and target_type != parsed[0]:
                raise invalid(f"`targetId` is not a {target_type} id.")
            target_type, target_id = parsed[0], str(parsed[1])
        customer_id = None
        if self.customer_id is not None:
            customer_id = expect_global_id(self.customer_id, "Customer")
            if customer_id is None:
                raise invalid(f"`{self.customer_id}` is not a Customer id.")
        return AuditEventQuery(
            actions=tuple(self.action or ()),
            actor_kind=None if self.actor_kind is None else self.actor_kind.value,
            actor_id=self.actor_id,
            target_type=target_type,
            target_id=target_id,
            occurred_from=_utc(self.occurred_from),
            occurred_until=_utc(self.occurred_until),
            customer_id=customer_id,
        )
