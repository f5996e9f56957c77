"""What the outbox handlers send: the deployment's entitlement built from the database, and
the billing provider's subscription created, then amended, cancelled and reactivated to
match the local one."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.clock import FixedClock
from app.config import Settings
from app.db.tables import (
    BillingAccount,
    ConsumablePurchase,
    OutboxMessage,
    ProvisionedEntitlement,
    Subscription,
)
from app.domain.enums import ConsumableKind, SyncStatus
from app.providers.billing import SubscriptionItem
from app.providers.errors import ProviderUnavailable
from app.providers.provisioning import Entitlement
from app.providers.registry import build_providers
from app.runtime import Runtime, build_runtime
from app.services import outbox, provisioning
from app.services.worker.options import WorkerOptions
from app.services.worker.outbox import OutboxJob
from tests.support import factories as f

START = datetime(2026, 6, 1, 12, tzinfo=UTC)
OPTIONS = WorkerOptions(jitter=0, worker_id="worker-a")


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
def runtime(
    settings: Settings, session_factory: async_sessionmaker[AsyncSession], clock: FixedClock
) -> Runtime:
    providers = build_providers(settings, session_factory, clock)
    return build_runtime(settings, sessions=session_factory, clock=clock, providers=providers)


async def pack(
    db: AsyncSession, sub: Subscription, code: str, packs: int, used: int, expires: date
) -> None:
    products = await f.catalog(db)
    product = products[code]
    kind = ConsumableKind.STORAGE if code.startswith("storage") else ConsumableKind.COMPUTE_MINUTES
    await f.add(
        db,
        ConsumablePurchase(
            subscription_id=sub.id,
            product_id=product.id,
            kind=kind,
            packs=packs,
            units=packs * (product.pack_units or 0),
            units_used=used,
            amount=0,
            currency="USD",
            purchased_on=date(2026, 1, 1),
            expires_on=expires,
        ),
    )


@pytest.fixture
async def sub(db: AsyncSession) -> Subscription:
    customer = await f.customer(db)
    where = await f.deployment(db, customer, external_id="ns-acme")
    found = await f.subscription(db, customer, "ultimate", seats=12, deployment=where)
    await f.add_on(db, found, "duo_pro", quantity=5)
    await f.add_on(db, found, "duo_enterprise", quantity=2)
    await pack(db, found, "compute_minutes_1000", 2, 500, date(2027, 1, 1))
    await pack(db, found, "compute_minutes_1000", 3, 0, date(2026, 6, 1))  # expired today
    await pack(db, found, "compute_minutes_1000", 1, 1000, date(2027, 3, 1))  # used up
    await pack(db, found, "storage_10gib", 2, 0, found.term_end)
    await pack(db, found, "storage_10gib", 4, 0, date(2026, 1, 1))  # a past term's
    return found


async def deliver(
    db: AsyncSession, runtime: Runtime, topic: str, sub: Subscription, key: str
) -> None:
    await outbox.enqueue(db, topic, {"subscription_id": sub.id}, key, now=runtime.clock.now())
    await db.flush()
    assert await OutboxJob(OPTIONS).run(runtime, runtime.clock.now()) == 1


async def fresh(runtime: Runtime, table: Any, pk: Any) -> Any:
    async with runtime.sessions() as session:
        return await session.get(table, pk, populate_existing=True)


async def test_the_entitlement_is_what_the_deployment_holds_today(
    db: AsyncSession, sub: Subscription
) -> None:
    found = await provisioning.current_entitlement(db, sub.id or 0, date(2026, 6, 1))

    assert found == Entitlement(
        deployment_ref="ns-acme",
        plan_code="ultimate",
        seats=12,
        term_start=date(2026, 1, 1),
        term_end=date(2027, 1, 1),
        add_ons=(("duo_enterprise", 2), ("duo_pro", 5)),
        compute_minutes=1_500,
        storage_gib=20,
    )


async def test_a_push_lands_at_the_target_and_marks_the_subscription(
    db: AsyncSession, sub: Subscription, runtime: Runtime
) -> None:
    await deliver(db, runtime, outbox.PROVISION, sub, "p1")

    assert (await fresh(runtime, Subscription, sub.id)).provisioning_status == "PROVISIONED"
    pushed = await runtime.providers.provisioning.get(["ns-acme"])
    assert pushed["ns-acme"].seats == 12 and pushed["ns-acme"].storage_gib == 20

    # A later change is pushed as the new current state; the same state again is a no-op.
    async with runtime.sessions() as session, session.begin():
        row = await session.get(Subscription, sub.id)
        assert row is not None
        row.seats = 20
    await deliver(db, runtime, outbox.PROVISION, sub, "p2")
    await deliver(db, runtime, outbox.PROVISION, sub, "p3")

    assert (await runtime.providers.provisioning.get(["ns-acme"]))["ns-acme"].seats == 20
    async with runtime.sessions() as session:
        pushes = (await session.scalars(sa.select(ProvisionedEntitlement.pushes))).all()
    assert pushes == [2]


async def test_billing_sync_creates_then_amends_then_follows_auto_renew(
    db: AsyncSession, sub: Subscription, runtime: Runtime, clock: FixedClock
) -> None:
    billing = runtime.providers.billing

    await deliver(db, runtime, outbox.BILLING_SYNC, sub, "b1")

    row = await fresh(runtime, Subscription, sub.id)
    account = await fresh(runtime, BillingAccount, sub.billing_account_id)
    ref = row.provider_ref
    assert row.sync_status == SyncStatus.SYNCED and ref.startswith("sub_")
    assert account.provider_ref.startswith("acct_")
    remote = (await billing.get_subscriptions([ref]))[ref]
    assert (remote.account_ref, remote.term_start, remote.term_end, remote.auto_renew) == (
        account.provider_ref,
        date(2026, 1, 1),
        date(2027, 1, 1),
        True,
    )
    assert remote.items == (
        SubscriptionItem("ultimate", 12, 118_800),
        SubscriptionItem("duo_pro", 5, 22_800),
        SubscriptionItem("duo_enterprise", 2, 46_800),
        SubscriptionItem("storage_10gib", 2, 6_000),
    )

    clock.advance(timedelta(days=30))
    async with runtime.sessions() as session, session.begin():
        changed = await session.get(Subscription, sub.id)
        assert changed is not None
        changed.seats, changed.sync_status = 15, SyncStatus.PENDING
    await deliver(db, runtime, outbox.BILLING_SYNC, sub, "b2")

    remote = (await billing.get_subscriptions([ref]))[ref]
    assert remote.items[0] == SubscriptionItem("ultimate", 15, 118_800)
    assert (await fresh(runtime, Subscription, sub.id)).sync_status == SyncStatus.SYNCED

    async with runtime.sessions() as session, session.begin():
        changed = await session.get(Subscription, sub.id)
        assert changed is not None
        changed.auto_renew = False
    await deliver(db, runtime, outbox.BILLING_SYNC, sub, "b3")
    remote = (await billing.get_subscriptions([ref]))[ref]
    assert (remote.status, remote.auto_renew) == ("CANCELLED", False)

    async with runtime.sessions() as session, session.begin():
        changed = await session.get(Subscription, sub.id)
        assert changed is not None
        changed.auto_renew = True
    await deliver(db, runtime, outbox.BILLING_SYNC, sub, "b4")
    remote = (await billing.get_subscriptions([ref]))[ref]
    assert (remote.status, remote.auto_renew, len(remote.items)) == ("ACTIVE", True, 4)


async def test_billing_sync_retries_while_the_provider_is_down(
    db: AsyncSession, sub: Subscription, runtime: Runtime, clock: FixedClock
) -> None:
    real = runtime.providers.billing
    calls = []

    class Down:
        def __getattr__(self, name: str) -> Any:
            return getattr(real, name)

        async def create_subscription(self, *args: Any, **kwargs: Any) -> Any:
            calls.append(kwargs["idempotency_key"])
            if len(calls) == 1:
                raise ProviderUnavailable("local", "503")
            return await real.create_subscription(*args, **kwargs)

    runtime.providers.billing = Down()  # type: ignore[assignment]
    await deliver(db, runtime, outbox.BILLING_SYNC, sub, "b1")

    row = await fresh(runtime, Subscription, sub.id)
    assert (row.sync_status, row.provider_ref) == (SyncStatus.PENDING, None)
    clock.advance(timedelta(seconds=5))
    assert await OutboxJob(OPTIONS).run(runtime, clock.now()) == 1

    row = await fresh(runtime, Subscription, sub.id)
    assert row.sync_status == SyncStatus.SYNCED and row.provider_ref.startswith("sub_")
    assert calls == [f"subscription:{sub.id}:billing"] * 2
    async with runtime.sessions() as session:
        message = (await session.scalars(sa.select(OutboxMessage))).one()
    assert (message.status, message.attempts) == ("DONE", 1)
