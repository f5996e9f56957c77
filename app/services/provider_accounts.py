"""The paying account at the billing provider, created once: orders, lifecycle charges and
billing sync send the same request with the same key, so whichever comes first creates it
and the others replay it (also when the answer to the first was lost)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db.tables import BillingAccount
from app.db.unit_of_work import unit_of_work
from app.providers.billing import BillingProvider, NewAccount


def idempotency_key(account_id: int | None) -> str:
    return f"billing-account:{account_id}"


async def provider_account(
    sessions: async_sessionmaker[AsyncSession], billing: BillingProvider, account: BillingAccount
) -> str:
    """The account's provider ref, creating the account there first if it has none."""
    if account.provider_ref:
        return account.provider_ref
    record = await billing.create_account(
        NewAccount(
            name=account.name,
            email=account.bill_to_email,
            currency=account.currency,
            payment_method=account.payment_method,
        ),
        idempotency_key=idempotency_key(account.id),
    )
    async with unit_of_work(sessions) as session:
        row = await session.get(BillingAccount, account.id)
        if row is not None and row.provider_ref is None:
            row.provider_ref = record.ref
    return record.ref
