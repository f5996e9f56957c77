"""Fixtures of the Salesforce provider tests: one fake Salesforce per module (emptied before
each test) and a provider pointed at it over real HTTP, closed after the test."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from app.providers.crm.salesforce import SalesforceCrmProvider
from tests.fakes.salesforce import SalesforceFake, running_fake, settings_for


@pytest.fixture(scope="module")
async def module_fake() -> AsyncIterator[SalesforceFake]:
    async with running_fake() as fake:
        yield fake


@pytest.fixture
def fake(module_fake: SalesforceFake) -> SalesforceFake:
    module_fake.reset()
    module_fake.page_size = 2000
    return module_fake


@pytest.fixture
async def salesforce(fake: SalesforceFake) -> AsyncIterator[SalesforceCrmProvider]:
    provider = SalesforceCrmProvider(settings_for(fake))
    yield provider
    await provider.aclose()
