"""The migrations are the only way tables are made: they must round-trip and match the models."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db import migrate
from app.db.migrate import render_item
from app.db.tables import metadata


def _diff(connection: Connection) -> list[object]:
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "render_item": render_item}
    )
    return list(compare_metadata(context, metadata))


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names()) - {"alembic_version"}


async def test_models_and_migrations_agree(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        assert await connection.run_sync(_diff) == []


async def test_upgrade_downgrade_upgrade(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        assert await connection.run_sync(_tables) == set(metadata.tables)
        await connection.run_sync(migrate.downgrade)
        assert await connection.run_sync(_tables) == set()
        await connection.run_sync(migrate.upgrade)
        assert await connection.run_sync(_tables) == set(metadata.tables)
        assert await connection.run_sync(_diff) == []
