"""The paying account at the billing provider.

Created once: orders, lifecycle charges and the billing sync send the same request with the
same key (`keys.account`), so whichever comes first creates it and the others replay it
(also when the answer to the first was lost); its ref is stored at once."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db.tables import BillingAccount, Invoice
from app.db.unit_of_work import unit_of_work
from app.providers.billing import BillingProvider, NewAccount
from app.services.billing import keys


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
            country=account.billing_country,
            tax_id=account.tax_id,
        ),
        idempotency_key=keys.account(account.id),
    )
    async with unit_of_work(sessions) as session:
        row = await session.get(BillingAccount, account.id)
        if row is not None and row.provider_ref is None:
            row.provider_ref = record.ref
    return record.ref


async def attach_payment_method(
    sessions: async_sessionmaker[AsyncSession],
    billing: BillingProvider,
    account: BillingAccount,
    payment_method: str,
    *,
    key: str,
) -> str:
    """Put the payment method on the provider's copy of the account (created there first if
    it has none); the method the provider now has, which may be its own id for the token
    (Stripe attaches the token as a new PaymentMethod). It is read back after the write: a
    late retry of an older change is answered with that change's first answer, while the
    provider keeps the newer method set since."""
    ref = await provider_account(sessions, billing, account)
    record = await billing.set_payment_method(ref, payment_method, idempotency_key=key)
    current = (await billing.get_accounts([ref])).get(ref)
    return (current or record).payment_method or payment_method


async def account_of(session: AsyncSession, invoice: Invoice) -> BillingAccount:
    """The account an invoice bills."""
    account = await session.get(BillingAccount, invoice.billing_account_id)
    assert account is not None
    return account
