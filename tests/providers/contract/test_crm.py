"""The CRM contract (app/providers/crm/protocol.py): every CrmProvider passes it.

Runs once per entry of `implementations.CRM`."""

from __future__ import annotations

import pytest

from app.providers.crm import CrmOpportunity, CrmProvider
from app.providers.errors import (
    ProviderError,
    ProviderNotFound,
    ProviderRejected,
    ProviderUnavailable,
)
from tests.providers.contract.implementations import Fault, Subject, outage
from tests.providers.factories import TERM_START, crm_account, crm_subscription, new_opportunity
from tests.providers.factories import crm_contact as contact

Crm = Subject[CrmProvider]


async def test_upsert_account_creates_then_updates(crm_subject: Crm) -> None:
    crm = crm_subject.provider
    created = await crm.upsert_account(crm_account())
    updated = await crm.upsert_account(crm_account(segment="ENTERPRISE", country=None))

    assert created == crm_account()
    assert updated == crm_account(segment="ENTERPRISE", country=None)
    assert await crm.get_accounts(["crm-acme"]) == {"crm-acme": updated}
    assert await crm_subject.count("account") == 1


@pytest.mark.parametrize("overrides", [{"country": "DEU"}, {"name": ""}, {"ref": " "}])
async def test_malformed_accounts_are_rejected(crm_subject: Crm, overrides: dict[str, str]) -> None:
    with pytest.raises(ProviderRejected) as caught:
        await crm_subject.provider.upsert_account(crm_account(**overrides))

    assert caught.value.code == "invalid_request"
    assert await crm_subject.count("account") == 0


async def test_get_accounts_maps_known_refs_and_omits_unknown(crm_subject: Crm) -> None:
    crm = crm_subject.provider
    refs = [f"crm-{n}" for n in range(25)]
    for ref in refs:
        await crm.upsert_account(crm_account(ref))

    found = await crm.get_accounts([*refs, crm_subject.unknown("account"), "crm-7"])

    assert sorted(found) == sorted(refs)
    assert found["crm-7"] == crm_account("crm-7")
    assert await crm.get_accounts([]) == {}


async def test_get_contacts_groups_by_account_and_omits_those_without(crm: CrmProvider) -> None:
    for ref in ("crm-acme", "crm-beta", "crm-lonely"):
        await crm.upsert_account(crm_account(ref))
    for each in (contact("c-1"), contact("c-2", "crm-beta"), contact("c-3")):
        await crm.upsert_contact(each)

    contacts = await crm.get_contacts(["crm-acme", "crm-beta", "crm-lonely", "crm-unknown"])

    assert dict(contacts) == {
        "crm-acme": (contact("c-1"), contact("c-3")),
        "crm-beta": (contact("c-2", "crm-beta"),),
    }
    assert await crm.get_contacts([]) == {}


async def test_upsert_contact_moves_and_updates(crm_subject: Crm) -> None:
    crm = crm_subject.provider
    await crm.upsert_account(crm_account("crm-acme"))
    await crm.upsert_account(crm_account("crm-beta"))
    await crm.upsert_contact(contact("c-1"))

    moved = await crm.upsert_contact(contact("c-1", "crm-beta"))

    assert moved == contact("c-1", "crm-beta")
    assert await crm.get_contacts(["crm-acme", "crm-beta"]) == {"crm-beta": (moved,)}
    assert await crm_subject.count("contact") == 1


async def test_a_contact_needs_a_known_account(crm_subject: Crm) -> None:
    with pytest.raises(ProviderNotFound) as caught:
        await crm_subject.provider.upsert_contact(contact("c-1", crm_subject.unknown("account")))

    assert caught.value.provider == crm_subject.name
    assert await crm_subject.count("contact") == 0


async def test_create_opportunity_is_idempotent(crm_subject: Crm) -> None:
    crm = crm_subject.provider
    await crm.upsert_account(crm_account())

    first = await crm.create_opportunity(new_opportunity(), idempotency_key="opp-1")
    again = await crm.create_opportunity(new_opportunity(), idempotency_key="opp-1")

    assert again == first
    assert first == CrmOpportunity(
        ref=first.ref,
        account_ref="crm-acme",
        name="Acme: Premium renewal",
        stage="Closed Won",
        amount=348_000,
        currency="USD",
        close_on=new_opportunity().close_on,
    )
    assert first.ref
    assert await crm_subject.count("opportunity") == 1


async def test_distinct_keys_create_distinct_opportunities(crm_subject: Crm) -> None:
    crm = crm_subject.provider
    await crm.upsert_account(crm_account())

    first = await crm.create_opportunity(new_opportunity(), idempotency_key="opp-1")
    second = await crm.create_opportunity(new_opportunity(), idempotency_key="opp-2")

    assert first.ref != second.ref
    assert await crm_subject.count("opportunity") == 2


async def test_an_opportunity_key_reused_with_other_fields_is_rejected(crm_subject: Crm) -> None:
    crm = crm_subject.provider
    await crm.upsert_account(crm_account())
    await crm.create_opportunity(new_opportunity(), idempotency_key="opp-1")

    with pytest.raises(ProviderRejected) as caught:
        await crm.create_opportunity(new_opportunity(amount=1), idempotency_key="opp-1")

    assert caught.value.code == "idempotency_key_reused"
    assert await crm_subject.count("opportunity") == 1


async def test_an_opportunity_needs_a_known_account(crm_subject: Crm) -> None:
    unknown = crm_subject.unknown("account")

    with pytest.raises(ProviderNotFound):
        await crm_subject.provider.create_opportunity(
            new_opportunity(unknown), idempotency_key="opp-1"
        )

    assert await crm_subject.count("opportunity") == 0


async def test_a_malformed_opportunity_is_rejected(crm_subject: Crm) -> None:
    crm = crm_subject.provider
    await crm.upsert_account(crm_account())

    with pytest.raises(ProviderRejected) as caught:
        await crm.create_opportunity(new_opportunity(currency="$"), idempotency_key="opp-1")

    assert caught.value.code == "invalid_request"
    assert await crm_subject.count("opportunity") == 0


async def test_upsert_subscription_creates_then_replaces(crm_subject: Crm) -> None:
    crm = crm_subject.provider
    await crm.upsert_account(crm_account("crm-acme"))
    await crm.upsert_account(crm_account("crm-beta"))
    created = await crm.upsert_subscription(crm_subscription())
    replaced = crm_subscription(account_ref="crm-beta", plan="ultimate", seats=3, status="expired")

    assert created == crm_subscription()
    assert await crm.upsert_subscription(replaced) == replaced
    assert await crm.get_subscriptions(["A-S00000001"]) == {"A-S00000001": replaced}
    assert await crm_subject.count("subscription") == 1


async def test_a_subscription_needs_a_known_account(crm_subject: Crm) -> None:
    unknown = crm_subject.unknown("account")

    with pytest.raises(ProviderNotFound) as caught:
        await crm_subject.provider.upsert_subscription(crm_subscription(account_ref=unknown))

    assert caught.value.provider == crm_subject.name
    assert await crm_subject.count("subscription") == 0


@pytest.mark.parametrize("overrides", [{"plan": ""}, {"seats": -1}, {"term_end": TERM_START}])
async def test_malformed_subscriptions_are_rejected(
    crm_subject: Crm, overrides: dict[str, object]
) -> None:
    await crm_subject.provider.upsert_account(crm_account())

    with pytest.raises(ProviderRejected) as caught:
        await crm_subject.provider.upsert_subscription(crm_subscription(**overrides))

    assert caught.value.code == "invalid_request"
    assert await crm_subject.count("subscription") == 0


async def test_get_subscriptions_maps_known_refs_and_omits_unknown(crm_subject: Crm) -> None:
    crm = crm_subject.provider
    await crm.upsert_account(crm_account())
    refs = [f"A-S{n:08d}" for n in range(1, 26)]
    for ref in refs:
        await crm.upsert_subscription(crm_subscription(ref))

    found = await crm.get_subscriptions([*refs, "A-S99999999", refs[6]])

    assert sorted(found) == refs
    assert found[refs[6]] == crm_subscription(refs[6])
    assert await crm.get_subscriptions([]) == {}


# -- transport failures (implementations with fault controls) --------------------------------


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        (Fault.REJECT, ProviderRejected),
        (Fault.SERVER_ERROR, ProviderUnavailable),
        (Fault.TIMEOUT, ProviderUnavailable),
        (Fault.DROP, ProviderUnavailable),
    ],
)
async def test_a_failed_call_is_a_typed_error_and_a_retry_lands_once(
    crm_subject: Crm, fault: Fault, error: type[ProviderError]
) -> None:
    crm, faults = crm_subject.provider, crm_subject.faults()
    await crm.upsert_account(crm_account())

    with outage(faults, fault), pytest.raises(error) as read:
        await crm.get_accounts(["crm-acme"])
    with outage(faults, fault), pytest.raises(error):
        await crm.create_opportunity(new_opportunity(), idempotency_key="opp-1")
    await crm.create_opportunity(new_opportunity(), idempotency_key="opp-1")

    assert read.value.retryable is (error is ProviderUnavailable)
    assert await crm.get_accounts(["crm-acme"]) == {"crm-acme": crm_account()}
    assert await crm_subject.count("opportunity") == 1
