"""Fixtures of the provider tests: the local implementations on the test transaction, a fixed
clock, row counts and a SQL statement counter."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker
from sqlmodel import SQLModel

from app.clock import FixedClock
from app.providers.billing import LocalBillingProvider
from app.providers.crm import LocalCrmProvider
from app.providers.provisioning import LocalProvisioningTarget

NOW = datetime(2026, 1, 1, 9, 30, tzinfo=UTC)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def billing(
    session_factory: async_sessionmaker[AsyncSession], clock: FixedClock
) -> LocalBillingProvider:
    return LocalBillingProvider(session_factory, clock)


@pytest.fixture
def crm(session_factory: async_sessionmaker[AsyncSession]) -> LocalCrmProvider:
    return LocalCrmProvider(session_factory)


@pytest.fixture
def provisioning(
    session_factory: async_sessionmaker[AsyncSession], clock: FixedClock
) -> LocalProvisioningTarget:
    return LocalProvisioningTarget(session_factory, clock)


class RowCounter:
    def __init__(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = session_factory

    async def __call__(self, table: type[SQLModel]) -> int:
        async with self._sessions() as session:
            result = await session.execute(select(func.count()).select_from(table))
            return int(result.scalar_one())


@pytest.fixture
def count_rows(session_factory: async_sessionmaker[AsyncSession]) -> RowCounter:
    return RowCounter(session_factory)


class StatementLog:
    """SQL statements sent on the test's connection (savepoint bookkeeping left out)."""

    def __init__(self) -> None:
        self.statements: list[str] = []

    def record(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK")):
            self.statements.append(statement)

    def clear(self) -> None:
        self.statements.clear()


@pytest.fixture
def statements(connection: AsyncConnection) -> Iterator[StatementLog]:
    log = StatementLog()
    target = connection.sync_connection
    event.listen(target, "before_cursor_execute", log.record)
    yield log
    event.remove(target, "before_cursor_execute", log.record)
