"""Entitlement records, and what only the embedded target promises (its row); the behaviour
every target shares is in contract/test_provisioning.py."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.clock import FixedClock
from app.db.tables.local_providers import ProvisionedEntitlement
from app.providers.provisioning import Entitlement, LocalProvisioningTarget
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
        '"deployment_ref":"100042","plan_code":"premium","seats":10,"storage_gib":10,'
        '"term_end":"2027-01-01","term_start":"2026-01-01"}'
    )
    assert entitlement(seats=11).digest() != one.digest()


def test_an_add_on_appears_once() -> None:
    with pytest.raises(ValueError, match="once"):
        entitlement(add_ons=(("duo_pro", 5), ("duo_pro", 1)))


def test_entitlements_are_frozen() -> None:
    value: Entitlement = entitlement()
    with pytest.raises(AttributeError):
        value.seats = 1  # type: ignore[misc]


async def test_the_row_keeps_the_digest_and_the_time_of_the_change(
    provisioning: LocalProvisioningTarget, clock: FixedClock, db: AsyncSession
) -> None:
    await provisioning.push(entitlement(), idempotency_key="prov-1")
    clock.advance(timedelta(hours=1))

    await provisioning.push(entitlement(seats=15), idempotency_key="prov-2")
    await provisioning.push(entitlement(seats=15), idempotency_key="prov-3")

    row = (await db.execute(select(ProvisionedEntitlement))).scalar_one()
    assert row.digest == entitlement(seats=15).digest()
    assert row.updated_at == NOW + timedelta(hours=1)
    assert row.pushes == 2
