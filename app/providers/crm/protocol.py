"""The CRM provider contract.

Reads are batch-first and issue one request (one SQL statement locally) per batch, whatever
its length; the mappings they return omit refs that have nothing to return.

Accounts and contacts are upserted by `ref`, the caller-chosen external id (Salesforce:
an External ID field), so repeating an upsert is harmless and needs no idempotency key.
Creating an opportunity takes an idempotency key; the same key with other fields is refused
with `ProviderRejected(code="idempotency_key_reused")`. Writes that name an unknown account
raise `ProviderNotFound`; malformed ones `ProviderRejected(code="invalid_request")`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from app.providers.crm.records import (
    CrmAccount,
    CrmContact,
    CrmOpportunity,
    CrmSubscription,
    NewOpportunity,
)


class CrmProvider(Protocol):
    async def get_accounts(self, refs: Sequence[str]) -> Mapping[str, CrmAccount]: ...

    async def get_contacts(
        self, account_refs: Sequence[str]
    ) -> Mapping[str, tuple[CrmContact, ...]]:
        """Contacts per account ref; an account with none (or unknown) is absent."""
        ...

    async def upsert_account(self, account: CrmAccount) -> CrmAccount: ...

    async def upsert_contact(self, contact: CrmContact) -> CrmContact: ...

    async def create_opportunity(
        self, opportunity: NewOpportunity, *, idempotency_key: str
    ) -> CrmOpportunity: ...

    async def get_subscriptions(self, refs: Sequence[str]) -> Mapping[str, CrmSubscription]:
        """One request per batch; unknown refs are omitted."""
        ...

    async def upsert_subscription(self, subscription: CrmSubscription) -> CrmSubscription:
        """Create or replace by `ref`; `ProviderNotFound` for an unknown account_ref."""
        ...
