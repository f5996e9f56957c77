"""A difference the drift job found between a subscription's local copy and a remote one
(docs/operations.md "Drift detection"); shown to staff as `Subscription.drift`."""

from __future__ import annotations

from datetime import datetime

import strawberry

from app.db import tables
from schema.enums import DriftRepair, DriftSystem


@strawberry.type(
    description="One field on which the billing provider's or the CRM's copy differed."
)
class DriftFinding:
    system: DriftSystem
    field: str = strawberry.field(
        description="`plan`, `seats`, `term_start`, `term_end`, `items`, `status`, `missing`; "
        "an invoice's as `invoice.<total|balance|state|currency|missing>:<invoice number>`."
    )
    local_value: str | None
    remote_value: str | None
    repair: DriftRepair = strawberry.field(
        description="REPUSH: the local copy was pushed again; ADMIN_TASK: money, an admin task "
        "was raised and nothing was changed."
    )
    detected_at: datetime
    repaired_at: datetime | None = strawberry.field(
        description="When the re-push was queued (null for money)."
    )
    resolved_at: datetime | None = strawberry.field(
        description="When a later check found both copies agreeing; null while open."
    )

    @classmethod
    def from_row(cls, row: tables.DriftFinding) -> DriftFinding:
        return cls(
            system=row.system,
            field=row.field,
            local_value=row.local_value,
            remote_value=row.remote_value,
            repair=row.repair,
            detected_at=row.detected_at,
            repaired_at=row.repaired_at,
            resolved_at=row.resolved_at,
        )
