"""A local fake of the Salesforce REST API and its OAuth token endpoint (server.py) for the
Salesforce CRM provider's tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

from app.providers.crm.salesforce import SalesforceSettings
from tests.fakes.salesforce.keys import CLIENT_ID, USERNAME, app_keys, other_keys
from tests.fakes.salesforce.server import SalesforceFake

# Short, so a TIMEOUT fault (the fake hangs 1 s) is given up on quickly.
TIMEOUT_SECONDS = 0.5


def settings_for(fake: SalesforceFake, **overrides: Any) -> SalesforceSettings:
    """The provider's settings against `fake`, with the tests' connected app key."""
    settings = SalesforceSettings(
        login_url=fake.url,
        client_id=CLIENT_ID,
        username=USERNAME,
        private_key=app_keys().private_pem,
        timeout_seconds=TIMEOUT_SECONDS,
    )
    return replace(settings, **overrides)


@asynccontextmanager
async def running_fake() -> AsyncIterator[SalesforceFake]:
    fake = SalesforceFake()
    await fake.start()
    try:
        yield fake
    finally:
        await fake.stop()


__all__ = [
    "CLIENT_ID",
    "USERNAME",
    "SalesforceFake",
    "app_keys",
    "other_keys",
    "running_fake",
    "settings_for",
]
