"""`ACCOUNT` events (customer updated, a payment method attached or detached): the local
billing account takes the provider's current default payment method."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.db.repositories import webhooks as repo
from app.db.tables import BillingAccount
from app.runtime import Runtime
from app.services.inbound.refresh import Apply, Outcome


async def refresh(runtime: Runtime, ref: str) -> Apply:
    remote = (await runtime.providers.billing.get_accounts([ref])).get(ref)

    async def apply(session: AsyncSession, now: datetime) -> Outcome:
        account = await repo.synced_by_ref(session, BillingAccount, ref)
        if remote is None or account is None:
            return Outcome.UNKNOWN_OBJECT
        account.payment_method = remote.payment_method
        return Outcome.REFRESHED

    return apply
