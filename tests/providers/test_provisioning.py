from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.clock import FixedClock
from app.db.tables.local_providers import ProvisionedEntitlement
from app.providers.errors import ProviderRejected
from app.providers.provisioning import Entitlement, LocalProvisioningTarget, ProvisioningResult
from tests.providers.conftest import NOW
from tests.providers.factories import entitlement


def test_the_digest_is_stable_and_ignores_add_on_order() -> None:
    one = entitlement(add_ons=(("duo_pro", 5), ("duo_enterprise", 2)))
    other = entitlement(add_ons=(("duo_enterprise", 2), ("duo_pro", 5)))

    assert one == other
    assert one.add_ons == (("duo_enterprise", 2), ("duo_pro", 5))
    assert one.digest() == other.digest()
    assert len(one.digest()) == 64
    assert one.canonical_json() == (
        '{"add_ons":[["duo_enterprise",2],["duo_pro",5]],"compute_minutes":10000,'
        '"deployment_ref":"namespace-42","plan_code":"premium","seats":10,"storage_gib":10,'
        '"term_end":"2027-01-01","term_start":"2026-01-01"}'
    )
    assert entitlement(seats=11).digest() != one.digest()


def test_an_add_on_appears_once() -> None:
    with pytest.raises(ValueError, match="once"):
        entitlement(add_ons=(("duo_pro", 5), ("duo_pro", 1)))


async def test_the_same_entitlement_twice_is_one_push(
    provisioning: LocalProvisioningTarget,
) -> None:
    first = await provisioning.push(entitlement(), idempotency_key="prov-1")
    again = await provisioning.push(entitlement(), idempotency_key="prov-2")

    assert first == ProvisioningResult(deployment_ref="namespace-42", applied=True, pushes=1)
    assert again == ProvisioningResult(deployment_ref="namespace-42", applied=False, pushes=1)


async def test_a_change_is_applied_and_counted(
    provisioning: LocalProvisioningTarget, clock: FixedClock, db: AsyncSession
) -> None:
    await provisioning.push(entitlement(), idempotency_key="prov-1")
    clock.advance(timedelta(hours=1))

    result = await provisioning.push(entitlement(seats=15), idempotency_key="prov-2")

    assert result == ProvisioningResult(deployment_ref="namespace-42", applied=True, pushes=2)
    assert await provisioning.get(["namespace-42"]) == {"namespace-42": entitlement(seats=15)}
    row = (await db.execute(select(ProvisionedEntitlement))).scalar_one()
    assert row.digest == entitlement(seats=15).digest()
    assert row.updated_at == NOW + timedelta(hours=1)


async def test_get_omits_unknown_deployments(provisioning: LocalProvisioningTarget) -> None:
    await provisioning.push(entitlement(), idempotency_key="prov-1")
    await provisioning.push(entitlement(deployment_ref="instance-7"), idempotency_key="prov-2")

    found = await provisioning.get(["namespace-42", "instance-7", "nowhere"])

    assert dict(found) == {
        "namespace-42": entitlement(),
        "instance-7": entitlement(deployment_ref="instance-7"),
    }
    assert await provisioning.get([]) == {}


@pytest.mark.parametrize(
    "bad",
    [
        {"seats": -1},
        {"add_ons": (("duo_pro", -1),)},
        {"term_end": entitlement().term_start},
        {"deployment_ref": ""},
    ],
)
async def test_a_malformed_entitlement_is_rejected(
    provisioning: LocalProvisioningTarget, bad: dict[str, object]
) -> None:
    with pytest.raises(ProviderRejected) as caught:
        await provisioning.push(entitlement(**bad), idempotency_key="prov-1")

    assert caught.value.code == "invalid_request"
    assert await provisioning.get([entitlement().deployment_ref]) == {}


def test_entitlements_are_frozen() -> None:
    value: Entitlement = entitlement()
    with pytest.raises(AttributeError):
        value.seats = 1  # type: ignore[misc]
