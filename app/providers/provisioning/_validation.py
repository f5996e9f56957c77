"""Request checks shared by the provisioning targets; each failure is a ProviderRejected with
code "invalid_request", raised before anything is sent or stored."""

from __future__ import annotations

from app.providers import _checks as checks
from app.providers.provisioning.records import Entitlement


def check_push(entitlement: Entitlement, idempotency_key: str) -> None:
    checks.check_text("idempotency_key", idempotency_key)
    checks.check_text("deployment_ref", entitlement.deployment_ref)
    checks.check_text("plan_code", entitlement.plan_code)
    counts = [entitlement.seats, entitlement.compute_minutes, entitlement.storage_gib]
    counts += [quantity for _, quantity in entitlement.add_ons]
    checks.check_amounts(*counts)
    if min(counts) < 0:
        raise checks.invalid("seats, quantities, minutes and storage must not be negative")
    if entitlement.term_end <= entitlement.term_start:
        raise checks.invalid("term_end must be after term_start")
