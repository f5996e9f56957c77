"""Seat assignments reach the product: each assign or unassign queues one provisioning push,
the entitlement lists the holders per add-on, and a burst of changes converges on the final
holders at the local target and at the HTTP target's fake receiver."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from app.auth.principals import Principal, PrincipalKind
from app.clock import FixedClock
from app.config import Settings
from app.db.tables import AddOnPurchase, OutboxMessage, Subscription
from app.domain.enums import MemberRole
from app.providers.provisioning.http import HttpProvisioningTarget, HttpTargetSettings
from app.providers.registry import build_providers
from app.runtime import Runtime, build_runtime
from app.services import outbox
from app.services.add_on_seats import assign_seats, unassign_seats
from app.services.worker.options import WorkerOptions
from app.services.worker.outbox import OutboxJob
from tests.fakes.provisioning import FakeReceiver
from tests.support import factories as f

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
OPTIONS = WorkerOptions(jitter=0, worker_id="worker-a")
SECRET = "seat-secret"


@pytest.fixture
def runtime(settings: Settings, session_factory: async_sessionmaker[AsyncSession]) -> Runtime:
    clock = FixedClock(NOW)
    providers = build_providers(settings, session_factory, clock)
    return build_runtime(settings, sessions=session_factory, clock=clock, providers=providers)


@pytest.fixture
async def receiver() -> AsyncIterator[FakeReceiver]:
    async with FakeReceiver(SECRET) as fake:
        yield fake


@dataclasses.dataclass
class Seats:
    subscription: Subscription
    purchase: AddOnPurchase
    owner: Principal


@pytest.fixture
async def seats(db: AsyncSession) -> Seats:
    customer = await f.customer(db)
    where = await f.deployment(db, customer, external_id="ns-seats")
    sub = await f.subscription(db, customer, "ultimate", deployment=where)
    purchase = await f.add_on(db, sub, "duo_pro", quantity=20)
    for user_id in ("alice", "bob", "carol", *(f"u-{n:02}" for n in range(20))):
        await f.user(db, member_of=customer, role=MemberRole.VIEWER, external_id=user_id)
    assert customer.id is not None
    owner = Principal(
        kind=PrincipalKind.CUSTOMER_USER, id="owner", roles={customer.id: MemberRole.OWNER}
    )
    return Seats(sub, purchase, owner)


async def pushes_queued(db: AsyncSession, sub: Subscription) -> int:
    stmt = sa.select(sa.func.count()).where(
        col(OutboxMessage.topic) == outbox.PROVISION,
        col(OutboxMessage.subscription_id) == sub.id,
    )
    return int((await db.execute(stmt)).scalar_one())


async def drain(runtime: Runtime) -> int:
    """Run worker rounds until nothing is claimed (bounded); the messages carried out. A
    round takes one push per subscription, so a burst takes a round per message."""
    done = 0
    for _ in range(30):
        claimed = await OutboxJob(OPTIONS).run(runtime, runtime.clock.now())
        if not claimed:
            return done
        done += claimed
    raise AssertionError("the outbox did not drain in 30 rounds")


async def test_each_change_queues_one_push_and_a_no_op_none(db: AsyncSession, seats: Seats) -> None:
    assert seats.purchase.id is not None
    await assign_seats(db, seats.owner, seats.purchase.id, ["u-01", "u-02"], now=NOW)
    assert await pushes_queued(db, seats.subscription) == 1
    await assign_seats(db, seats.owner, seats.purchase.id, ["u-02"], now=NOW)  # already held
    assert await pushes_queued(db, seats.subscription) == 1
    await unassign_seats(db, seats.owner, seats.purchase.id, ["u-01"], now=NOW)
    assert await pushes_queued(db, seats.subscription) == 2
    assert seats.subscription.provisioning_status == "PENDING"


async def test_a_burst_of_20_converges_at_the_local_target(
    db: AsyncSession, seats: Seats, runtime: Runtime
) -> None:
    assert seats.purchase.id is not None
    for n in range(20):
        await assign_seats(db, seats.owner, seats.purchase.id, [f"u-{n:02}"], now=NOW)
    await unassign_seats(db, seats.owner, seats.purchase.id, ["u-03", "u-07"], now=NOW)
    await db.flush()
    assert await pushes_queued(db, seats.subscription) == 21

    assert await drain(runtime) == 21
    pushed = (await runtime.providers.provisioning.get(["ns-seats"]))["ns-seats"]
    expected = tuple(f"u-{n:02}" for n in range(20) if n not in (3, 7))
    assert pushed.add_ons == (("duo_pro", 20),)
    assert pushed.holders_of("duo_pro") == expected
    async with runtime.sessions() as session:
        row = await session.get(Subscription, seats.subscription.id, populate_existing=True)
    assert row is not None and row.provisioning_status == "PROVISIONED"


async def test_the_holders_arrive_at_the_http_target(
    db: AsyncSession, seats: Seats, runtime: Runtime, receiver: FakeReceiver
) -> None:
    target = HttpProvisioningTarget(HttpTargetSettings(receiver.url, SECRET, timeout_seconds=1))
    runtime = dataclasses.replace(
        runtime, providers=dataclasses.replace(runtime.providers, provisioning=target)
    )
    assert seats.purchase.id is not None
    try:
        for user_id in ("alice", "bob", "carol"):
            await assign_seats(db, seats.owner, seats.purchase.id, [user_id], now=NOW)
        await unassign_seats(db, seats.owner, seats.purchase.id, ["bob"], now=NOW)
        await db.flush()
        assert await drain(runtime) == 4
        read_back = (await target.get(["ns-seats"]))["ns-seats"]
        assert read_back.holders_of("duo_pro") == ("alice", "carol")
    finally:
        await target.aclose()

    (entry,) = receiver.provisions["ns-seats"]["add_on_purchases"]["duo_pro"]
    assert entry["quantity"] == 20 and entry["assigned_user_ids"] == ["alice", "carol"]
    assert len(receiver.posts()) == 4
