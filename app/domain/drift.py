"""Drift repair policy: which system owns each compared field, and so what the drift job
does when a remote copy differs (docs/architecture.md, Source of truth).

Entitlement (plan, seats, term, add-ons, status) is owned by the local database: the job
pushes the local copy again. Money (an invoice's total, balance, state) is owned by the
billing provider once issued and is never changed by a job, here or there: an admin task
is raised instead. Every compared field has a row; a field without one is a bug
(`repair_for` raises), so a new comparison cannot slip in without a policy."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from app.domain.enums import DriftRepair, DriftSystem

REPUSH, ADMIN_TASK = DriftRepair.REPUSH, DriftRepair.ADMIN_TASK

# field -> (owner, repair). Invoice fields are named "invoice.<field>"; a finding names the
# invoice in its field ("invoice.total:INV-000042"), the policy row by the part before ":".
POLICY: Mapping[str, tuple[str, DriftRepair]] = {
    "missing": ("local", REPUSH),  # the remote system has no copy at all
    "plan": ("local", REPUSH),
    "seats": ("local", REPUSH),
    "term_start": ("local", REPUSH),
    "term_end": ("local", REPUSH),
    "items": ("local", REPUSH),  # add-ons and co-termed packs: product, quantity, price
    "status": ("local", REPUSH),  # active / cancelled (auto-renew off) / expired
    "invoice.missing": ("billing", ADMIN_TASK),
    "invoice.total": ("billing", ADMIN_TASK),
    "invoice.balance": ("billing", ADMIN_TASK),
    "invoice.state": ("billing", ADMIN_TASK),
    "invoice.currency": ("billing", ADMIN_TASK),
}


@dataclass(frozen=True, slots=True)
class Difference:
    """One field on which `system`'s copy differs; values are rendered as text."""

    system: DriftSystem
    field: str
    local: str | None
    remote: str | None

    @property
    def repair(self) -> DriftRepair:
        return repair_for(self.field)


def repair_for(field: str) -> DriftRepair:
    return POLICY[field.split(":", 1)[0]][1]
