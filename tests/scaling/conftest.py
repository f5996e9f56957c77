"""The scaling tests' demo database: one per test module, dropped at its end."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from app.config import Settings
from tests.scaling.demo_app import demo_database


@pytest.fixture(scope="module")
async def demo(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Settings]:
    """Settings for a migrated database with the demo data, of this module's own."""
    async with demo_database(database_url, tmp_path_factory.mktemp("demo")) as settings:
        yield settings
