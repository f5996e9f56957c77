"""`SalesforceCrmProvider`: the CrmProvider protocol over Salesforce's REST API.

Reads are one SOQL query per batch (soql.py; more only past MAX_REFS_PER_QUERY refs or
when Salesforce pages the answer). Accounts, contacts and subscriptions are upserted by
external id (`PATCH /sobjects/{object}/{field}/{ref}`: 201 created, 204 updated).

An opportunity is created by one composite request with allOrNone: the account, read by
its external id (404: ProviderNotFound, and nothing is written), then a POST of the
Opportunity with the idempotency key in `Idempotency_Key__c`, a unique External ID field.
A POST rather than an upsert by that key, so that the key's first request is never
overwritten: a retry (after a lost answer) is refused DUPLICATE_VALUE, the record holding
the key is read back, and is the answer when it holds the same request; other fields are
`ProviderRejected("idempotency_key_reused")`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence

from app.providers.crm.records import (
    CrmAccount,
    CrmContact,
    CrmOpportunity,
    CrmSubscription,
    NewOpportunity,
)
from app.providers.crm.salesforce import checks, mapping, soql
from app.providers.crm.salesforce.client import SalesforceApi, SubRequest
from app.providers.crm.salesforce.errors import (
    DUPLICATE_VALUE,
    HALTED,
    PROVIDER,
    ApiError,
    translate,
)
from app.providers.crm.salesforce.settings import SalesforceSettings
from app.providers.errors import ProviderRejected, ProviderUnavailable


class SalesforceCrmProvider:
    name = PROVIDER

    def __init__(
        self, settings: SalesforceSettings, *, wall_clock: Callable[[], float] = time.time
    ) -> None:
        self.api = SalesforceApi(settings, wall_clock=wall_clock)

    async def aclose(self) -> None:
        """Close the HTTP session."""
        await self.api.aclose()

    def api_usage(self) -> tuple[int, int] | None:
        """(used, limit) of the org's daily API requests, from the last answer's
        Sforce-Limit-Info header; None before the first call."""
        return self.api.api_usage()

    # -- reads -------------------------------------------------------------------------------

    async def get_accounts(self, refs: Sequence[str]) -> Mapping[str, CrmAccount]:
        records = await self._select(mapping.ACCOUNT_FIELDS, "Account", mapping.EXTERNAL_ID, refs)
        return {each.ref: each for each in map(mapping.account, records)}

    async def get_contacts(
        self, account_refs: Sequence[str]
    ) -> Mapping[str, tuple[CrmContact, ...]]:
        records = await self._select(
            mapping.CONTACT_FIELDS,
            "Contact",
            f"Account.{mapping.EXTERNAL_ID}",
            account_refs,
            order_by="CreatedDate, Id",
        )
        grouped: dict[str, list[CrmContact]] = {}
        for each in map(mapping.contact, records):
            grouped.setdefault(each.account_ref, []).append(each)
        return {ref: tuple(contacts) for ref, contacts in grouped.items()}

    async def get_subscriptions(self, refs: Sequence[str]) -> Mapping[str, CrmSubscription]:
        records = await self._select(
            mapping.SUBSCRIPTION_FIELDS, "Subscription__c", mapping.SUBSCRIPTION_NUMBER, refs
        )
        return {each.ref: each for each in map(mapping.subscription, records)}

    async def _select(
        self,
        fields: Sequence[str],
        sobject: str,
        field: str,
        values: Sequence[str],
        order_by: str = "",
    ) -> list[mapping.Obj]:
        found: list[mapping.Obj] = []
        for chunk in soql.chunks(values):
            found += await self.api.query(soql.select_in(fields, sobject, field, chunk, order_by))
        return found

    # -- upserts by external id --------------------------------------------------------------

    async def upsert_account(self, account: CrmAccount) -> CrmAccount:
        checks.account(account)
        await self._upsert(
            "Account", mapping.EXTERNAL_ID, account.ref, mapping.account_body(account)
        )
        return account

    async def upsert_contact(self, contact: CrmContact) -> CrmContact:
        checks.contact(contact)
        await self._upsert(
            "Contact", mapping.EXTERNAL_ID, contact.ref, mapping.contact_body(contact)
        )
        return contact

    async def upsert_subscription(self, subscription: CrmSubscription) -> CrmSubscription:
        checks.subscription(subscription)
        body = mapping.subscription_body(subscription)
        await self._upsert("Subscription__c", mapping.SUBSCRIPTION_NUMBER, subscription.ref, body)
        return subscription

    async def _upsert(self, sobject: str, field: str, ref: str, body: mapping.Obj) -> None:
        await self.api.call("PATCH", self.api.sobject_path(sobject, field, ref), body)

    # -- opportunities -----------------------------------------------------------------------

    async def create_opportunity(
        self, opportunity: NewOpportunity, *, idempotency_key: str
    ) -> CrmOpportunity:
        checks.opportunity(opportunity, idempotency_key)
        account_path = self.api.sobject_path(
            "Account", mapping.EXTERNAL_ID, opportunity.account_ref
        )
        account, created = await self.api.composite(
            [
                SubRequest("GET", account_path + "?fields=Id", "account"),
                SubRequest(
                    "POST",
                    self.api.sobject_path("Opportunity"),
                    "opportunity",
                    mapping.opportunity_body(opportunity, idempotency_key, "@{account.Id}"),
                ),
            ]
        )
        if created.status < 300 and isinstance(created.body, dict) and created.body.get("id"):
            return mapping.created_opportunity(str(created.body["id"]), opportunity)
        # All or none: the subrequest that failed says why, the other one PROCESSING_HALTED.
        errors = [ApiError.of(each.status, each.body) for each in (account, created)]
        error = next((each for each in errors if each.code != HALTED), errors[-1])
        if error.code != DUPLICATE_VALUE or mapping.OPPORTUNITY_KEY not in error.message:
            raise translate(error)
        return await self._replay(opportunity, idempotency_key)

    async def _replay(self, request: NewOpportunity, key: str) -> CrmOpportunity:
        query = soql.select_in(
            mapping.OPPORTUNITY_FIELDS, "Opportunity", mapping.OPPORTUNITY_KEY, [key]
        )
        records = await self.api.query(query)
        if not records:  # refused as a duplicate, yet not there: deleted meanwhile
            raise ProviderUnavailable(PROVIDER, f"the opportunity of key {key!r} vanished")
        found = mapping.opportunity(records[0])
        if mapping.as_new_opportunity(found) != request:
            raise ProviderRejected(
                PROVIDER,
                "idempotency_key_reused",
                "idempotency key already used for another request",
            )
        return found
