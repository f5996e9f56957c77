from __future__ import annotations

import re

import pytest

from app.db.tables.local_providers import CrmAccountRecord, CrmOpportunityRecord
from app.providers.crm import CrmContact, LocalCrmProvider
from app.providers.errors import ProviderNotFound, ProviderRejected
from tests.providers.conftest import RowCounter, StatementLog
from tests.providers.factories import crm_account, new_opportunity


def _contact(ref: str, account_ref: str = "crm-acme") -> CrmContact:
    return CrmContact(
        ref=ref, account_ref=account_ref, name=f"Person {ref}", email=f"{ref}@acme.test"
    )


async def test_upsert_account_creates_then_updates(
    crm: LocalCrmProvider, count_rows: RowCounter
) -> None:
    created = await crm.upsert_account(crm_account())
    updated = await crm.upsert_account(crm_account(segment="ENTERPRISE", country=None))

    assert created == crm_account()
    assert updated == crm_account(segment="ENTERPRISE", country=None)
    assert await crm.get_accounts(["crm-acme"]) == {"crm-acme": updated}
    assert await count_rows(CrmAccountRecord) == 1


@pytest.mark.parametrize("overrides", [{"country": "DEU"}, {"name": ""}, {"ref": " "}])
async def test_malformed_accounts_are_rejected(
    crm: LocalCrmProvider, overrides: dict[str, str]
) -> None:
    with pytest.raises(ProviderRejected) as caught:
        await crm.upsert_account(crm_account(**overrides))

    assert caught.value.code == "invalid_request"


async def test_get_accounts_is_one_statement_for_any_batch(
    crm: LocalCrmProvider, statements: StatementLog
) -> None:
    refs = [f"crm-{n}" for n in range(25)]
    for ref in refs:
        await crm.upsert_account(crm_account(ref))
    statements.clear()

    found = await crm.get_accounts([*refs, "crm-unknown", "crm-also-unknown"])

    assert sorted(found) == sorted(refs)
    assert found["crm-7"] == crm_account("crm-7")
    assert len(statements.statements) == 1


async def test_get_accounts_of_nothing_sends_nothing(
    crm: LocalCrmProvider, statements: StatementLog
) -> None:
    assert await crm.get_accounts([]) == {}
    assert statements.statements == []


async def test_get_contacts_groups_by_account_in_one_statement(
    crm: LocalCrmProvider, statements: StatementLog
) -> None:
    await crm.upsert_account(crm_account("crm-acme"))
    await crm.upsert_account(crm_account("crm-beta"))
    await crm.upsert_account(crm_account("crm-lonely"))
    for contact in (_contact("c-1"), _contact("c-2", "crm-beta"), _contact("c-3")):
        await crm.upsert_contact(contact)
    statements.clear()

    contacts = await crm.get_contacts(["crm-acme", "crm-beta", "crm-lonely", "crm-unknown"])

    assert dict(contacts) == {
        "crm-acme": (_contact("c-1"), _contact("c-3")),
        "crm-beta": (_contact("c-2", "crm-beta"),),
    }
    assert len(statements.statements) == 1


async def test_upsert_contact_moves_and_updates(crm: LocalCrmProvider) -> None:
    await crm.upsert_account(crm_account("crm-acme"))
    await crm.upsert_account(crm_account("crm-beta"))
    await crm.upsert_contact(_contact("c-1"))

    moved = await crm.upsert_contact(_contact("c-1", "crm-beta"))

    assert moved.account_ref == "crm-beta"
    assert await crm.get_contacts(["crm-acme", "crm-beta"]) == {"crm-beta": (moved,)}


async def test_a_contact_needs_a_known_account(crm: LocalCrmProvider) -> None:
    with pytest.raises(ProviderNotFound):
        await crm.upsert_contact(_contact("c-1", "crm-unknown"))


async def test_create_opportunity_is_idempotent(
    crm: LocalCrmProvider, count_rows: RowCounter
) -> None:
    await crm.upsert_account(crm_account())

    first = await crm.create_opportunity(new_opportunity(), idempotency_key="opp-1")
    again = await crm.create_opportunity(new_opportunity(), idempotency_key="opp-1")

    assert again == first
    assert re.fullmatch(r"opp_\d{6}", first.ref)
    assert (first.account_ref, first.amount, first.currency) == ("crm-acme", 348_000, "USD")
    assert await count_rows(CrmOpportunityRecord) == 1


async def test_an_opportunity_key_reused_with_other_fields_is_rejected(
    crm: LocalCrmProvider, count_rows: RowCounter
) -> None:
    await crm.upsert_account(crm_account())
    await crm.create_opportunity(new_opportunity(), idempotency_key="opp-1")

    with pytest.raises(ProviderRejected) as caught:
        await crm.create_opportunity(new_opportunity(amount=1), idempotency_key="opp-1")

    assert caught.value.code == "idempotency_key_reused"
    assert await count_rows(CrmOpportunityRecord) == 1


async def test_an_opportunity_needs_a_known_account(
    crm: LocalCrmProvider, count_rows: RowCounter
) -> None:
    with pytest.raises(ProviderNotFound):
        await crm.create_opportunity(new_opportunity("crm-unknown"), idempotency_key="opp-1")

    assert await count_rows(CrmOpportunityRecord) == 0


async def test_a_malformed_opportunity_is_rejected(crm: LocalCrmProvider) -> None:
    await crm.upsert_account(crm_account())

    with pytest.raises(ProviderRejected) as caught:
        await crm.create_opportunity(new_opportunity(currency="$"), idempotency_key="opp-1")

    assert caught.value.code == "invalid_request"
