"""A unit of work: one transaction that commits on success and rolls back on error.
Use cases run inside one and never commit themselves."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db.engine import SQLITE_BEGIN


@asynccontextmanager
async def unit_of_work(
    sessions: async_sessionmaker[AsyncSession], *, write: bool = True
) -> AsyncIterator[AsyncSession]:
    """A write unit takes SQLite's write lock up front (BEGIN IMMEDIATE), so concurrent writers
    queue instead of failing on lock upgrade; PostgreSQL writers lock rows FOR UPDATE."""
    async with sessions() as session, session.begin():
        if write:
            await session.connection(execution_options={SQLITE_BEGIN: "IMMEDIATE"})
        yield session
