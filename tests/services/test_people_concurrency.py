"""Two owners stepping down at the same time: a customer never ends up without an owner.
One demotion wins, the other gets LAST_OWNER. Real, separately committed transactions on a
database of their own (tests/support/fresh_database.py), on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlmodel import col

from app.auth.principals import Principal, PrincipalKind
from app.config import Settings
from app.db.engine import create_session_factory
from app.db.tables import Membership
from app.db.unit_of_work import unit_of_work
from app.domain.enums import MemberRole
from app.domain.errors import DomainError, ErrorCode
from app.services import people
from tests.support import factories as f
from tests.support.fresh_database import fresh_database

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)


@pytest.fixture(scope="module")
async def engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    async with fresh_database(settings) as engine:
        yield engine


@pytest.fixture(scope="module")
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return create_session_factory(engine)


async def test_two_owners_demoting_themselves_at_once_leave_one_owner(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as db, db.begin():
        customer = await f.customer(db)
        owners = [
            await f.user(
                db, member_of=customer, role=MemberRole.OWNER, external_id=f"o{n}-{customer.id}"
            )
            for n in (1, 2)
        ]
    assert customer.id is not None

    async def step_down(external_id: str) -> MemberRole | DomainError:
        principal = Principal(
            kind=PrincipalKind.CUSTOMER_USER,
            id=external_id,
            roles={customer.id or 0: MemberRole.OWNER},
        )
        change = people.Change(principal=principal, customer_id=customer.id or 0, now=NOW)
        try:
            async with unit_of_work(sessions) as session:
                member = await people.change_role(session, change, external_id, MemberRole.VIEWER)
                assert member.role is not None
                return member.role
        except DomainError as error:
            return error

    answers = await asyncio.gather(*(step_down(u.external_id) for u in owners))

    assert sorted(str(a) for a in answers) == sorted(
        [str(MemberRole.VIEWER), str(people.LAST_OWNER)]
    )
    assert next(a for a in answers if isinstance(a, DomainError)).code is ErrorCode.LAST_OWNER
    async with sessions() as db:
        roles = (
            await db.scalars(
                sa.select(col(Membership.role)).where(col(Membership.customer_id) == customer.id)
            )
        ).all()
    assert sorted(roles) == [MemberRole.OWNER, MemberRole.VIEWER]
