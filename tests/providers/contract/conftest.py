"""Contract fixtures: each runs its test once per registered implementation of the kind."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.clock import FixedClock
from app.providers.billing import BillingProvider
from app.providers.crm import CrmProvider
from app.providers.provisioning import ProvisioningTarget
from tests.providers.contract.implementations import (
    BILLING,
    CRM,
    PROVISIONING,
    ContractDeps,
    Implementation,
    Subject,
)


def _name(implementation: Implementation[object]) -> str:
    return implementation.id


@pytest.fixture
def deps(session_factory: async_sessionmaker[AsyncSession], clock: FixedClock) -> ContractDeps:
    return ContractDeps(session_factory, clock)


@pytest.fixture(params=BILLING, ids=_name)
async def billing_subject(
    request: pytest.FixtureRequest, deps: ContractDeps
) -> AsyncIterator[Subject[BillingProvider]]:
    async with request.param.start(deps) as harness:
        yield Subject(request.param, harness)


@pytest.fixture(params=CRM, ids=_name)
async def crm_subject(
    request: pytest.FixtureRequest, deps: ContractDeps
) -> AsyncIterator[Subject[CrmProvider]]:
    async with request.param.start(deps) as harness:
        yield Subject(request.param, harness)


@pytest.fixture(params=PROVISIONING, ids=_name)
async def provisioning_subject(
    request: pytest.FixtureRequest, deps: ContractDeps
) -> AsyncIterator[Subject[ProvisioningTarget]]:
    async with request.param.start(deps) as harness:
        yield Subject(request.param, harness)


@pytest.fixture
def billing(billing_subject: Subject[BillingProvider]) -> BillingProvider:
    return billing_subject.provider


@pytest.fixture
def crm(crm_subject: Subject[CrmProvider]) -> CrmProvider:
    return crm_subject.provider


@pytest.fixture
def target(provisioning_subject: Subject[ProvisioningTarget]) -> ProvisioningTarget:
    return provisioning_subject.provider
