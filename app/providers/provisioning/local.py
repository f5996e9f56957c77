"""The embedded provisioning target: records the last entitlement per deployment in
ProvisionedEntitlement. Idempotency is by content: a push whose digest equals the recorded
one is a no-op (applied=False), so the idempotency key needs no storage of its own here."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from app.clock import Clock
from app.db.tables.local_providers import ProvisionedEntitlement
from app.providers._sql import load_json, read_session, retry_on_conflict, write_session
from app.providers.provisioning._validation import check_push
from app.providers.provisioning.records import Entitlement, ProvisioningResult


class LocalProvisioningTarget:
    name = "local"

    def __init__(self, session_factory: async_sessionmaker[AsyncSession], clock: Clock) -> None:
        self._sessions = session_factory
        self._clock = clock

    async def aclose(self) -> None:
        """Nothing to release: each call opens and closes its own session."""

    async def get(self, deployment_refs: Sequence[str]) -> Mapping[str, Entitlement]:
        wanted = sorted(set(deployment_refs))
        if not wanted:
            return {}
        table = ProvisionedEntitlement
        query = select(table).where(col(table.deployment_ref).in_(wanted))
        async with read_session(self._sessions) as s:
            rows = (await s.execute(query)).scalars().all()
        return {row.deployment_ref: load_json(Entitlement, row.entitlement) for row in rows}

    async def push(self, entitlement: Entitlement, *, idempotency_key: str) -> ProvisioningResult:
        check_push(entitlement, idempotency_key)
        return await retry_on_conflict(lambda: self._upsert(entitlement))

    async def _upsert(self, entitlement: Entitlement) -> ProvisioningResult:
        ref, digest = entitlement.deployment_ref, entitlement.digest()
        async with write_session(self._sessions) as s:
            row = await _locked(s, ref)
            if row is not None and row.digest == digest:
                return ProvisioningResult(deployment_ref=ref, applied=False, pushes=row.pushes)
            if row is None:
                row = ProvisionedEntitlement(deployment_ref=ref, digest=digest, pushes=0)
                s.add(row)
            row.entitlement = json.loads(entitlement.canonical_json())
            row.digest, row.pushes, row.updated_at = digest, row.pushes + 1, self._clock.now()
            await s.flush()
            return ProvisioningResult(deployment_ref=ref, applied=True, pushes=row.pushes)


async def _locked(s: AsyncSession, deployment_ref: str) -> ProvisionedEntitlement | None:
    table = ProvisionedEntitlement
    query = select(table).where(col(table.deployment_ref) == deployment_ref).with_for_update()
    return (await s.execute(query)).scalar_one_or_none()
