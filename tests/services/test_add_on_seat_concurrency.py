"""Concurrent seat assignments racing for the last seat of an add-on (docs/domain.md 5): exactly
one wins, the others get NO_SEATS_AVAILABLE, and the seats never exceed the quantity.

These run on a database of their own (see tests/support/fresh_database.py) with real,
separately committed transactions, on SQLite and on PostgreSQL (TEST_DATABASE_URL)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlmodel import col

from app.auth.principals import Principal, PrincipalKind
from app.config import Settings
from app.db.engine import create_session_factory
from app.db.tables import AddOnAssignment, AuditEvent, Deployment, Subscription
from app.db.unit_of_work import unit_of_work
from app.domain.enums import MemberRole
from app.domain.errors import DomainError, ErrorCode
from app.services.add_on_seats import assign_seats
from app.services.orders.requests import DeploymentRef
from app.services.subscription_changes import start_trial
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


@dataclass(frozen=True)
class Seats:
    purchase_id: int
    owner: Principal
    customer_id: int  # a racer's user id is "<name>@<customer id>" (portal ids are unique)


async def seed(sessions: async_sessionmaker[AsyncSession], quantity: int, already: int) -> Seats:
    """An add-on of `quantity` seats with `already` of them assigned, committed; the racers
    and "same-user" are members of the customer (seats go to members only)."""
    async with sessions() as db, db.begin():
        customer = await f.customer(db)
        for user_id in ("same-user", *(f"racer-{n}" for n in range(10))):
            external_id = f"{user_id}@{customer.id}"
            await f.user(db, member_of=customer, role=MemberRole.VIEWER, external_id=external_id)
        purchase = await f.add_on(db, await f.subscription(db, customer), quantity=quantity)
        for n in range(already):
            await f.add(db, AddOnAssignment(add_on_purchase_id=purchase.id, user_id=f"held-{n}"))
    assert customer.id is not None and purchase.id is not None
    owner = Principal(
        kind=PrincipalKind.CUSTOMER_USER,
        id=f"owner-of-{customer.id}",
        roles={customer.id: MemberRole.OWNER},
    )
    return Seats(purchase.id, owner, customer.id)


async def attempt(
    sessions: async_sessionmaker[AsyncSession], seats: Seats, user_id: str
) -> ErrorCode | None:
    """One request: its own transaction; None when it got the seat, else the error code."""
    try:
        async with unit_of_work(sessions) as session:
            member = f"{user_id}@{seats.customer_id}"
            await assign_seats(session, seats.owner, seats.purchase_id, [member], now=NOW)
    except DomainError as error:
        return error.code
    return None


async def holders(sessions: async_sessionmaker[AsyncSession], purchase_id: int) -> list[str]:
    """The names holding a seat (their user ids without the "@<customer id>")."""
    async with sessions() as db:
        rows = await db.scalars(
            sa.select(col(AddOnAssignment.user_id)).where(
                col(AddOnAssignment.add_on_purchase_id) == purchase_id
            )
        )
        return sorted(user_id.split("@")[0] for user_id in rows.all())


async def assigned_audits(sessions: async_sessionmaker[AsyncSession], purchase_id: int) -> int:
    async with sessions() as db:
        stmt = sa.select(sa.func.count()).where(
            col(AuditEvent.action) == "add_on.seats_assigned",
            col(AuditEvent.target_id) == str(purchase_id),
        )
        return int((await db.execute(stmt)).scalar_one())


@pytest.mark.parametrize("racers", [2, 10])
async def test_racers_for_the_last_seat_exactly_one_wins(
    sessions: async_sessionmaker[AsyncSession], racers: int
) -> None:
    seats = await seed(sessions, quantity=3, already=2)
    racer_ids = [f"racer-{n}" for n in range(racers)]

    outcomes = await asyncio.gather(*(attempt(sessions, seats, uid) for uid in racer_ids))

    assert outcomes.count(None) == 1
    assert outcomes.count(ErrorCode.NO_SEATS_AVAILABLE) == racers - 1
    winner = racer_ids[outcomes.index(None)]
    assert await holders(sessions, seats.purchase_id) == sorted(["held-0", "held-1", winner])
    assert await assigned_audits(sessions, seats.purchase_id) == 1


async def test_racers_for_many_seats_fill_exactly_the_quantity(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    seats = await seed(sessions, quantity=4, already=0)
    racer_ids = [f"racer-{n}" for n in range(10)]

    outcomes = await asyncio.gather(*(attempt(sessions, seats, uid) for uid in racer_ids))

    assert outcomes.count(None) == 4
    assert outcomes.count(ErrorCode.NO_SEATS_AVAILABLE) == 6
    winners = sorted(uid for uid, outcome in zip(racer_ids, outcomes, strict=True) if not outcome)
    assert await holders(sessions, seats.purchase_id) == winners


async def test_the_same_user_assigned_concurrently_takes_one_seat(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    seats = await seed(sessions, quantity=2, already=0)

    outcomes = await asyncio.gather(*(attempt(sessions, seats, "same-user") for _ in range(5)))

    assert outcomes == [None] * 5
    assert await holders(sessions, seats.purchase_id) == ["same-user"]
    assert await assigned_audits(sessions, seats.purchase_id) == 1


@pytest.mark.parametrize("existing", [True, False], ids=["existing", "new"])
async def test_concurrent_trials_on_one_deployment_start_exactly_one(
    sessions: async_sessionmaker[AsyncSession], existing: bool
) -> None:
    """The deployment row lock keeps trialStart to one trial per deployment under a race."""
    async with sessions() as db, db.begin():
        await f.catalog(db)
        customer = await f.customer(db)
        await f.billing_account(db, customer)
        if existing:
            await f.deployment(db, customer, external_id=f"ns-race-{customer.id}")
    assert customer.id is not None
    owner = Principal(
        kind=PrincipalKind.CUSTOMER_USER, id="trial-owner", roles={customer.id: MemberRole.OWNER}
    )
    where = DeploymentRef(external_id=f"ns-race-{customer.id}")

    async def start() -> ErrorCode | None:
        try:
            async with unit_of_work(sessions) as session:
                await start_trial(session, owner, customer.id or 0, where, now=NOW)
        except DomainError as error:
            return error.code
        return None

    outcomes = await asyncio.gather(*(start() for _ in range(5)))

    assert outcomes.count(None) == 1
    assert outcomes.count(ErrorCode.TRIAL_ALREADY_USED) == 4
    async with sessions() as db:
        trials = (
            await db.scalars(
                sa.select(Subscription)
                .join(Deployment, col(Deployment.id) == col(Subscription.deployment_id))
                .where(col(Deployment.external_id) == where.external_id)
            )
        ).all()
    assert [t.status.value for t in trials] == ["TRIAL"]
