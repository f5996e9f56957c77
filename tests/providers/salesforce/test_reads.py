"""Batched reads: one SOQL query per batch, literals escaped, long batches split, pages
followed; a query the API cannot parse is an invalid request."""

from __future__ import annotations

import pytest

from app.providers.crm.salesforce import SalesforceCrmProvider
from app.providers.crm.salesforce.soql import MAX_REFS_PER_QUERY, literal
from app.providers.errors import ProviderRejected
from tests.fakes.salesforce import SalesforceFake
from tests.providers.factories import crm_account, crm_contact

QUERY = "GET"
QUERY_PATH = "/services/data/v61.0/query"


async def test_a_batch_of_refs_is_one_query(
    salesforce: SalesforceCrmProvider, fake: SalesforceFake
) -> None:
    refs = [f"crm-{n}" for n in range(30)]
    for ref in refs:
        await salesforce.upsert_account(crm_account(ref))
    before = fake.calls(QUERY, QUERY_PATH)

    found = await salesforce.get_accounts([*refs, "crm-unknown", "crm-3"])

    assert sorted(found) == sorted(refs)
    assert found["crm-3"] == crm_account("crm-3")
    assert fake.calls(QUERY, QUERY_PATH) - before == 1
    assert fake.queries()[-1].startswith(
        "SELECT External_Id__c, Name, Segment__c, Owner_Name__c, Owner_Email__c, "
        "BillingCountry FROM Account WHERE External_Id__c IN ('crm-0', 'crm-1', "
    )


async def test_nothing_asked_sends_nothing(
    salesforce: SalesforceCrmProvider, fake: SalesforceFake
) -> None:
    assert await salesforce.get_accounts([]) == {}
    assert await salesforce.get_contacts([]) == {}
    assert await salesforce.get_subscriptions([]) == {}
    assert fake.log == []


async def test_a_batch_past_the_limit_is_split(
    salesforce: SalesforceCrmProvider, fake: SalesforceFake
) -> None:
    refs = [f"crm-{n}" for n in range(2 * MAX_REFS_PER_QUERY + 1)]

    assert await salesforce.get_accounts([*refs, *refs]) == {}

    assert fake.calls(QUERY, QUERY_PATH) == 3


async def test_pages_are_followed(salesforce: SalesforceCrmProvider, fake: SalesforceFake) -> None:
    for n in range(5):
        await salesforce.upsert_account(crm_account(f"crm-{n}"))
    fake.page_size = 2

    found = await salesforce.get_accounts([f"crm-{n}" for n in range(5)])

    assert len(found) == 5
    assert fake.calls(QUERY, QUERY_PATH) == 1
    assert fake.calls(QUERY, QUERY_PATH + "/01g*") == 2


@pytest.mark.parametrize("ref", ["o'brien", "back\\slash", "x') OR Name != ('", "\\'"])
async def test_a_ref_stays_inside_its_literal(
    salesforce: SalesforceCrmProvider, fake: SalesforceFake, ref: str
) -> None:
    await salesforce.upsert_account(crm_account(ref))
    await salesforce.upsert_account(crm_account("crm-other"))

    found = await salesforce.get_accounts([ref])

    assert found == {ref: crm_account(ref)}
    assert literal(ref) in fake.queries()[-1]


def test_literals_escape_quotes_and_backslashes() -> None:
    assert literal("o'brien") == "'o\\'brien'"
    assert literal("a\\b") == "'a\\\\b'"
    assert literal("\\'") == "'\\\\\\''"


async def test_contacts_of_many_accounts_are_one_query(
    salesforce: SalesforceCrmProvider, fake: SalesforceFake
) -> None:
    for ref in ("crm-acme", "crm-beta"):
        await salesforce.upsert_account(crm_account(ref))
    for contact in (crm_contact("c-1"), crm_contact("c-2", "crm-beta"), crm_contact("c-3")):
        await salesforce.upsert_contact(contact)
    before = fake.calls(QUERY, QUERY_PATH)

    contacts = await salesforce.get_contacts(["crm-acme", "crm-beta", "crm-unknown"])

    assert dict(contacts) == {
        "crm-acme": (crm_contact("c-1"), crm_contact("c-3")),
        "crm-beta": (crm_contact("c-2", "crm-beta"),),
    }
    assert fake.calls(QUERY, QUERY_PATH) - before == 1


async def test_a_query_salesforce_cannot_parse_is_an_invalid_request(
    salesforce: SalesforceCrmProvider,
) -> None:
    with pytest.raises(ProviderRejected) as caught:
        await salesforce.api.query("SELECT Name FROM Account WHERE Name = 'x'")

    assert caught.value.code == "invalid_request"
    assert "MALFORMED_QUERY" in caught.value.message
