"""Bring a test database to an empty state before the migrations build it."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine


async def reset_database(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            await connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            await connection.execute(text("CREATE SCHEMA public"))
            return
        rows = await connection.execute(
            text("SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'")
        )
        await connection.execute(text("PRAGMA foreign_keys=OFF"))
        for (name,) in rows.all():
            await connection.execute(text(f'DROP TABLE IF EXISTS "{name}"'))
