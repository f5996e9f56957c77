"""Neutral provisioning records: what a deployment is entitled to, and the outcome of a push."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True, slots=True)
class Entitlement:
    """Everything the product needs to know about one deployment.

    `add_ons` holds (add-on code, quantity) pairs; they are kept sorted by code, so two
    entitlements that grant the same things are equal and have the same digest.
    `add_on_holders` holds (add-on code, user ids holding its seats), codes and ids sorted;
    an add-on nobody holds is left out, so an entitlement without holders keeps the digest
    it had before holders were pushed.
    """

    deployment_ref: str
    plan_code: str
    seats: int
    term_start: date
    term_end: date
    add_ons: tuple[tuple[str, int], ...] = ()
    compute_minutes: int = 0
    storage_gib: int = 0
    add_on_holders: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def __post_init__(self) -> None:
        add_ons = tuple(sorted((code, quantity) for code, quantity in self.add_ons))
        if len({code for code, _ in add_ons}) != len(add_ons):
            raise ValueError("each add-on code may appear once in an entitlement")
        object.__setattr__(self, "add_ons", add_ons)
        holders = tuple(
            sorted((code, tuple(sorted(ids))) for code, ids in self.add_on_holders if ids)
        )
        if len({code for code, _ in holders}) != len(holders):
            raise ValueError("each add-on code may appear once among the holders")
        object.__setattr__(self, "add_on_holders", holders)

    def holders_of(self, code: str) -> tuple[str, ...]:
        return dict(self.add_on_holders).get(code, ())

    def canonical_json(self) -> str:
        """Compact JSON with sorted keys and ISO dates: stable across runs and processes."""
        document = {
            "deployment_ref": self.deployment_ref,
            "plan_code": self.plan_code,
            "seats": self.seats,
            "term_start": self.term_start.isoformat(),
            "term_end": self.term_end.isoformat(),
            "add_ons": [[code, quantity] for code, quantity in self.add_ons],
            "compute_minutes": self.compute_minutes,
            "storage_gib": self.storage_gib,
        }
        if self.add_on_holders:
            document["add_on_holders"] = [[code, list(ids)] for code, ids in self.add_on_holders]
        return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)

    def digest(self) -> str:
        """SHA-256 hex of the canonical JSON."""
        return hashlib.sha256(self.canonical_json().encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class ProvisioningResult:
    """`applied` is False when the target already had this exact entitlement; `pushes`
    counts the pushes that changed something for the deployment, this one included."""

    deployment_ref: str
    applied: bool
    pushes: int
