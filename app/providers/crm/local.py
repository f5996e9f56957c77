"""The embedded CRM: accounts, contacts, opportunities and subscription mirrors in the Crm*
tables.

Each call runs in its own transaction, as a remote CRM would. Account, contact and subscription
refs are chosen by the caller (upsert by external id); opportunity refs are sequential by row id
("opp_000001"), and CrmOpportunityRecord.idempotency_key makes their creation idempotent.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from app.db.tables.local_providers import (
    CrmAccountRecord,
    CrmContactRecord,
    CrmOpportunityRecord,
    CrmSubscriptionRecord,
)
from app.providers._sql import add_with_ref, read_session, retry_on_conflict, write_session
from app.providers.crm import _rows as rows
from app.providers.crm.records import (
    CrmAccount,
    CrmContact,
    CrmOpportunity,
    CrmSubscription,
    NewOpportunity,
)
from app.providers.errors import ProviderNotFound, ProviderRejected

Row = TypeVar("Row", CrmAccountRecord, CrmContactRecord, CrmSubscriptionRecord)


class LocalCrmProvider:
    name = "local"
    uses_app_database = True  # each call takes a connection from the app's pool

    def __init__(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = session_factory

    async def aclose(self) -> None:
        """Nothing to release: each call opens and closes its own session."""

    async def get_accounts(self, refs: Sequence[str]) -> Mapping[str, CrmAccount]:
        wanted = sorted(set(refs))
        if not wanted:
            return {}
        query = select(CrmAccountRecord).where(col(CrmAccountRecord.ref).in_(wanted))
        async with read_session(self._sessions) as s:
            found = (await s.execute(query)).scalars().all()
        return {row.ref: rows.account(row) for row in found}

    async def get_contacts(
        self, account_refs: Sequence[str]
    ) -> Mapping[str, tuple[CrmContact, ...]]:
        wanted = sorted(set(account_refs))
        if not wanted:
            return {}
        query = (
            select(CrmContactRecord)
            .where(col(CrmContactRecord.account_ref).in_(wanted))
            .order_by(col(CrmContactRecord.id))
        )
        async with read_session(self._sessions) as s:
            found = (await s.execute(query)).scalars().all()
        grouped: defaultdict[str, list[CrmContact]] = defaultdict(list)
        for row in found:
            grouped[row.account_ref].append(rows.contact(row))
        return {ref: tuple(contacts) for ref, contacts in grouped.items()}

    async def upsert_account(self, account: CrmAccount) -> CrmAccount:
        rows.check_account(account)

        async def attempt() -> CrmAccount:
            async with write_session(self._sessions) as s:
                row = await _by_ref(s, CrmAccountRecord, account.ref)
                row = rows.write_account(row, account)
                s.add(row)
                await s.flush()
                return rows.account(row)

        return await retry_on_conflict(attempt)

    async def upsert_contact(self, contact: CrmContact) -> CrmContact:
        rows.check_contact(contact)

        async def attempt() -> CrmContact:
            async with write_session(self._sessions) as s:
                await _require_account(s, contact.account_ref)
                row = await _by_ref(s, CrmContactRecord, contact.ref)
                row = rows.write_contact(row, contact)
                s.add(row)
                await s.flush()
                return rows.contact(row)

        return await retry_on_conflict(attempt)

    async def get_subscriptions(self, refs: Sequence[str]) -> Mapping[str, CrmSubscription]:
        wanted = sorted(set(refs))
        if not wanted:
            return {}
        query = select(CrmSubscriptionRecord).where(col(CrmSubscriptionRecord.ref).in_(wanted))
        async with read_session(self._sessions) as s:
            found = (await s.execute(query)).scalars().all()
        return {row.ref: rows.subscription(row) for row in found}

    async def upsert_subscription(self, subscription: CrmSubscription) -> CrmSubscription:
        rows.check_subscription(subscription)

        async def attempt() -> CrmSubscription:
            async with write_session(self._sessions) as s:
                await _require_account(s, subscription.account_ref)
                row = await _by_ref(s, CrmSubscriptionRecord, subscription.ref)
                row = rows.write_subscription(row, subscription)
                s.add(row)
                await s.flush()
                return rows.subscription(row)

        return await retry_on_conflict(attempt)

    async def create_opportunity(
        self, opportunity: NewOpportunity, *, idempotency_key: str
    ) -> CrmOpportunity:
        rows.check_opportunity(opportunity, idempotency_key)

        async def attempt() -> CrmOpportunity:
            async with write_session(self._sessions) as s:
                existing = await _by_key(s, idempotency_key)
                if existing is not None:
                    return _replay(existing, opportunity)
                await _require_account(s, opportunity.account_ref)
                row = rows.new_opportunity(opportunity, idempotency_key)
                await add_with_ref(s, row, "opp")
                return rows.opportunity(row)

        return await retry_on_conflict(attempt)


async def _by_ref(s: AsyncSession, table: type[Row], ref: str) -> Row | None:
    query = select(table).where(col(table.ref) == ref).with_for_update()
    return (await s.execute(query)).scalar_one_or_none()


async def _require_account(s: AsyncSession, ref: str) -> None:
    query = select(col(CrmAccountRecord.id)).where(col(CrmAccountRecord.ref) == ref)
    if (await s.execute(query)).scalar_one_or_none() is None:
        raise ProviderNotFound("local", f"no CRM account {ref!r}", ref=ref)


async def _by_key(s: AsyncSession, key: str) -> CrmOpportunityRecord | None:
    query = select(CrmOpportunityRecord).where(col(CrmOpportunityRecord.idempotency_key) == key)
    return (await s.execute(query)).scalar_one_or_none()


def _replay(row: CrmOpportunityRecord, request: NewOpportunity) -> CrmOpportunity:
    if rows.as_new_opportunity(row) != request:
        raise ProviderRejected(
            "local", "idempotency_key_reused", "idempotency key already used for another request"
        )
    return rows.opportunity(row)
