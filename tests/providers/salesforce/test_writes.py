"""Writes: upserts by external id (201 created, 204 updated), the opportunity's composite
request and its key, composite all-or-none, and the Subscription__c mirror."""

from __future__ import annotations

from datetime import date

import pytest

from app.providers.crm import CrmSubscription
from app.providers.crm.salesforce import SalesforceCrmProvider
from app.providers.crm.salesforce.client import SubRequest
from app.providers.errors import ProviderNotFound, ProviderRejected
from tests.fakes.salesforce import SalesforceFake
from tests.providers.factories import crm_account, new_opportunity

ACCOUNTS = "/services/data/v61.0/sobjects/Account/External_Id__c/*"
COMPOSITE = "/services/data/v61.0/composite"
HALTED = "PROCESSING_HALTED"


def subscription(**overrides: object) -> CrmSubscription:
    base: dict[str, object] = {
        "ref": "A-S00000001",
        "account_ref": "crm-acme",
        "plan": "premium",
        "seats": 10,
        "term_start": date(2026, 1, 1),
        "term_end": date(2027, 1, 1),
        "status": "active",
    }
    return CrmSubscription(**{**base, **overrides})  # type: ignore[arg-type]


async def test_an_upsert_creates_then_updates_the_same_record(
    salesforce: SalesforceCrmProvider, fake: SalesforceFake
) -> None:
    await salesforce.upsert_account(crm_account())
    await salesforce.upsert_account(crm_account(segment="ENTERPRISE"))

    assert [e.status for e in fake.log if e.method == "PATCH"] == [201, 204]
    (record,) = fake.records("Account")
    assert (record["External_Id__c"], record["Segment__c"]) == ("crm-acme", "ENTERPRISE")


async def test_an_opportunity_is_one_composite_request(
    salesforce: SalesforceCrmProvider, fake: SalesforceFake
) -> None:
    await salesforce.upsert_account(crm_account())

    created = await salesforce.create_opportunity(new_opportunity(), idempotency_key="opp-1")

    assert fake.calls("POST", COMPOSITE) == 1
    (record,) = fake.records("Opportunity")
    assert created.ref == record["Id"]
    assert (record["Idempotency_Key__c"], record["Amount_Cents__c"]) == ("opp-1", 348_000)
    assert record["AccountId"] == fake.records("Account")[0]["Id"]


async def test_a_replayed_opportunity_reads_back_the_first(
    salesforce: SalesforceCrmProvider, fake: SalesforceFake
) -> None:
    await salesforce.upsert_account(crm_account())
    first = await salesforce.create_opportunity(new_opportunity(), idempotency_key="opp-1")

    again = await salesforce.create_opportunity(new_opportunity(), idempotency_key="opp-1")
    with pytest.raises(ProviderRejected) as caught:
        await salesforce.create_opportunity(new_opportunity(stage="Lost"), idempotency_key="opp-1")

    assert again == first
    assert caught.value.code == "idempotency_key_reused"
    assert len(fake.records("Opportunity")) == 1
    assert fake.records("Opportunity")[0]["StageName"] == "Closed Won"


async def test_an_opportunity_of_an_unknown_account_writes_nothing(
    salesforce: SalesforceCrmProvider, fake: SalesforceFake
) -> None:
    with pytest.raises(ProviderNotFound) as caught:
        await salesforce.create_opportunity(new_opportunity("crm-gone"), idempotency_key="o-1")

    assert caught.value.provider == "salesforce"
    assert fake.records("Opportunity") == []


async def test_an_opportunity_without_a_close_date_is_refused_before_sending(
    salesforce: SalesforceCrmProvider, fake: SalesforceFake
) -> None:
    with pytest.raises(ProviderRejected) as caught:
        await salesforce.create_opportunity(new_opportunity(close_on=None), idempotency_key="o-1")

    assert caught.value.code == "invalid_request"
    assert fake.log == []


@pytest.mark.parametrize("all_or_none", [True, False])
async def test_composite_all_or_none(
    salesforce: SalesforceCrmProvider, fake: SalesforceFake, all_or_none: bool
) -> None:
    api = salesforce.api
    account = SubRequest(
        "PATCH", api.sobject_path("Account", "External_Id__c", "crm-acme"), "a", {"Name": "Acme"}
    )
    no_stage = {"Name": "x", "CloseDate": "2026-01-01", "AccountId": "@{a.id}"}
    opportunity = SubRequest("POST", api.sobject_path("Opportunity"), "o", no_stage)

    answers = await api.composite([account, opportunity], all_or_none=all_or_none)

    errors = [a.body[0]["errorCode"] if a.status >= 400 else None for a in answers]
    assert fake.records("Opportunity") == []
    if all_or_none:
        assert errors == [HALTED, "REQUIRED_FIELD_MISSING"]
        assert fake.records("Account") == []
    else:
        assert errors == [None, "REQUIRED_FIELD_MISSING"]
        assert [r["Name"] for r in fake.records("Account")] == ["Acme"]


async def test_subscriptions_are_upserted_and_read_by_number(
    salesforce: SalesforceCrmProvider, fake: SalesforceFake
) -> None:
    await salesforce.upsert_account(crm_account())
    await salesforce.upsert_account(crm_account("crm-beta"))
    created = await salesforce.upsert_subscription(subscription())
    other = await salesforce.upsert_subscription(subscription(ref="A-S00000002", seats=3))
    moved = subscription(account_ref="crm-beta", seats=15, status="cancelled")
    updated = await salesforce.upsert_subscription(moved)
    queries = fake.calls("GET", "/services/data/v61.0/query")

    found = await salesforce.get_subscriptions(["A-S00000001", "A-S00000002", "A-S-unknown"])

    assert created == subscription()
    assert updated == moved
    assert dict(found) == {"A-S00000001": moved, "A-S00000002": other}
    assert fake.calls("GET", "/services/data/v61.0/query") - queries == 1
    assert [e.status for e in fake.log if e.method == "PATCH"][-3:] == [201, 201, 204]
    assert len(fake.records("Subscription__c")) == 2
    assert fake.records("Subscription__c")[0]["Seats__c"] == 15.0


async def test_a_subscription_of_an_unknown_account_is_not_found(
    salesforce: SalesforceCrmProvider, fake: SalesforceFake
) -> None:
    with pytest.raises(ProviderNotFound) as caught:
        await salesforce.upsert_subscription(subscription(account_ref="crm-gone"))

    assert caught.value.ref == "crm-gone"
    assert fake.records("Subscription__c") == []


@pytest.mark.parametrize(
    "overrides", [{"seats": -1}, {"plan": " "}, {"term_end": date(2026, 1, 1)}, {"seats": 1.5}]
)
async def test_a_malformed_subscription_is_refused_before_sending(
    salesforce: SalesforceCrmProvider, fake: SalesforceFake, overrides: dict[str, object]
) -> None:
    with pytest.raises(ProviderRejected) as caught:
        await salesforce.upsert_subscription(subscription(**overrides))

    assert caught.value.code == "invalid_request"
    assert fake.log == []
