"""The provisioning target contract: tell the product what a deployment is entitled to.

`push` is an idempotent upsert keyed by the deployment: pushing the entitlement the target
already has changes nothing and returns `applied=False`. Targets reached over the network
also send the idempotency key (the HTTP target as a header) so a retried POST is recognised.
Failures are typed provider errors (`ProviderUnavailable` is retried by the outbox).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from app.providers.provisioning.records import Entitlement, ProvisioningResult


class ProvisioningTarget(Protocol):
    async def push(
        self, entitlement: Entitlement, *, idempotency_key: str
    ) -> ProvisioningResult: ...

    async def get(self, deployment_refs: Sequence[str]) -> Mapping[str, Entitlement]:
        """The last entitlement applied per deployment; unknown refs are absent."""
        ...
