"""What only the embedded CRM promises (one SQL statement per batch read, readable refs); the
behaviour every CRM shares is in contract/test_crm.py."""

from __future__ import annotations

import re

from app.providers.crm import LocalCrmProvider
from tests.providers.conftest import StatementLog
from tests.providers.factories import crm_account, crm_subscription, new_opportunity
from tests.providers.factories import crm_contact as contact


async def test_get_accounts_is_one_statement_for_any_batch(
    crm: LocalCrmProvider, statements: StatementLog
) -> None:
    refs = [f"crm-{n}" for n in range(25)]
    for ref in refs:
        await crm.upsert_account(crm_account(ref))
    statements.clear()

    found = await crm.get_accounts([*refs, "crm-unknown", "crm-also-unknown"])

    assert sorted(found) == sorted(refs)
    assert len(statements.statements) == 1


async def test_get_accounts_of_nothing_sends_nothing(
    crm: LocalCrmProvider, statements: StatementLog
) -> None:
    assert await crm.get_accounts([]) == {}
    assert statements.statements == []


async def test_get_contacts_is_one_statement(
    crm: LocalCrmProvider, statements: StatementLog
) -> None:
    await crm.upsert_account(crm_account("crm-acme"))
    await crm.upsert_account(crm_account("crm-beta"))
    await crm.upsert_contact(contact("c-1"))
    await crm.upsert_contact(contact("c-2", "crm-beta"))
    statements.clear()

    contacts = await crm.get_contacts(["crm-acme", "crm-beta", "crm-unknown"])

    assert sorted(contacts) == ["crm-acme", "crm-beta"]
    assert len(statements.statements) == 1


async def test_get_subscriptions_is_one_statement_for_any_batch(
    crm: LocalCrmProvider, statements: StatementLog
) -> None:
    await crm.upsert_account(crm_account())
    refs = [f"A-S{n:08d}" for n in range(1, 31)]
    for ref in refs:
        await crm.upsert_subscription(crm_subscription(ref))
    statements.clear()

    found = await crm.get_subscriptions([*refs, "A-S99999999"])

    assert sorted(found) == refs
    assert len(statements.statements) == 1


async def test_opportunity_refs_are_readable(crm: LocalCrmProvider) -> None:
    await crm.upsert_account(crm_account())

    opportunity = await crm.create_opportunity(new_opportunity(), idempotency_key="opp-1")

    assert re.fullmatch(r"opp_\d{6}", opportunity.ref)
