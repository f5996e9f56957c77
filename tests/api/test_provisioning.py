"""`Subscription.provisioning` over the API while the worker retries a push, with a flat
statement count for lists; and an order carried through to the product and the billing
provider by the worker."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.clock import FixedClock
from app.config import Settings
from app.db.tables import Deployment, Subscription
from app.domain.enums import MemberRole, TokenKind
from app.providers.errors import ProviderUnavailable
from app.providers.provisioning import Entitlement, ProvisioningResult, ProvisioningTarget
from app.runtime import Runtime
from app.services import outbox
from app.services.worker.options import WorkerOptions
from app.services.worker.outbox import OutboxJob
from app.services.worker.runner import Worker
from resolvers.ids import to_global_id
from tests.api.conftest import StatementCounter
from tests.api.orders_support import at, place, quote
from tests.support import factories as f
from tests.support.graphql import Api, api_token, user_token

OPTIONS = WorkerOptions(jitter=0, worker_id="api-worker")

STATE = """query($id: ID!) { subscription(id: $id) {
  provisioningStatus
  provisioning { status attempts lastError lastAttemptAt nextAttemptAt } } }"""

LIST = """query($id: ID!) { customer(id: $id) { subscriptions(first: 100) { nodes {
  number provisioning { status attempts lastError nextAttemptAt } } } } }"""


class FlakyTarget:
    def __init__(self, inner: ProvisioningTarget, failures: int) -> None:
        self.inner, self.failures = inner, failures
        self.calls: list[Entitlement] = []

    async def push(self, entitlement: Entitlement, *, idempotency_key: str) -> ProvisioningResult:
        self.calls.append(entitlement)
        if self.failures > 0:
            self.failures -= 1
            raise ProviderUnavailable("test", "product API is down")
        return await self.inner.push(entitlement, idempotency_key=idempotency_key)

    async def get(self, deployment_refs: Sequence[str]) -> Mapping[str, Entitlement]:
        return await self.inner.get(deployment_refs)


def iso(moment: datetime) -> str:
    return moment.isoformat()


async def state(api: Api, token: str, sub: Subscription) -> dict[str, Any]:
    data = await api.data(STATE, {"id": to_global_id("Subscription", sub.id or 0)}, token=token)
    found: dict[str, Any] = data["subscription"]
    return found


async def test_provisioning_shows_retries_then_success(
    db: AsyncSession, api: Api, runtime: Runtime, clock: FixedClock
) -> None:
    admin = await api_token(db, TokenKind.ADMIN)
    sub = await f.subscription(db, await f.customer(db))
    payload = {"subscription_id": sub.id, "order_id": 7}
    await outbox.enqueue(db, outbox.PROVISION, payload, "order:7:provision", now=clock.now())
    await db.flush()
    target = FlakyTarget(runtime.providers.provisioning, failures=3)
    runtime.providers.provisioning = target
    job = OutboxJob(OPTIONS)

    assert (await state(api, admin, sub))["provisioning"] == {
        "status": "PENDING",
        "attempts": 0,
        "lastError": None,
        "lastAttemptAt": None,
        "nextAttemptAt": iso(clock.now()),
    }

    for delay in (5, 10, 20):
        assert await job.run(runtime, clock.now()) == 1
        last_attempt = clock.now()
        clock.advance(timedelta(seconds=delay))

    assert await state(api, admin, sub) == {
        "provisioningStatus": "RETRYING",
        "provisioning": {
            "status": "RETRYING",
            "attempts": 3,
            "lastError": "test: product API is down",
            "lastAttemptAt": iso(last_attempt),
            "nextAttemptAt": iso(clock.now()),
        },
    }

    assert await job.run(runtime, clock.now()) == 1

    assert await state(api, admin, sub) == {
        "provisioningStatus": "PROVISIONED",
        "provisioning": {
            "status": "PROVISIONED",
            "attempts": 3,
            "lastError": "test: product API is down",
            "lastAttemptAt": iso(clock.now()),
            "nextAttemptAt": None,
        },
    }
    assert len(target.calls) == 4
    pushed = await runtime.providers.provisioning.get([target.calls[0].deployment_ref])
    assert list(pushed.values()) == [target.calls[-1]]


async def test_provisioning_of_a_list_costs_the_same_statements_for_5_or_50(
    db: AsyncSession, api: Api, clock: FixedClock, sql_statements: StatementCounter
) -> None:
    admin = await api_token(db, TokenKind.ADMIN)
    customers = []
    for size in (5, 50):
        customer = await f.customer(db)
        account = await f.billing_account(db, customer)
        for n in range(size):
            sub = await f.subscription(db, customer, account=account)
            for attempt in range(2):  # only the latest message counts
                key = f"{customer.id}:{n}:{attempt}"
                payload = {"subscription_id": sub.id}
                await outbox.enqueue(db, outbox.PROVISION, payload, key, now=clock.now())
        customers.append(customer)
    await db.flush()

    counts = []
    for customer in customers:
        sql_statements.reset()
        data = await api.data(LIST, {"id": to_global_id("Customer", customer.id or 0)}, admin)
        counts.append(sql_statements.count)
        nodes = data["customer"]["subscriptions"]["nodes"]
        assert {n["provisioning"]["status"] for n in nodes} == {"PENDING"}

    assert len(nodes) == 50
    assert counts[0] == counts[1], sql_statements.statements


async def test_an_order_reaches_the_product_and_the_billing_provider(
    db: AsyncSession, api: Api, runtime: Runtime, clock: FixedClock, settings: Settings
) -> None:
    customer = await f.customer(db)
    owner = await f.user(db, member_of=customer, role=MemberRole.OWNER)
    sub = await f.subscription(db, customer, seats=10, seats_in_use=8, max_seats_used=8)
    token = user_token(settings, owner)
    clock.set(at(date(2026, 7, 2)))
    order = {
        "subscriptionId": to_global_id("Subscription", sub.id or 0),
        "actions": [{"addSeats": {"seats": 5}}, {"addAddOn": {"addOn": "duo_pro", "seats": 3}}],
    }
    placed = await place(api, token, (await quote(api, token, **order))["token"])
    assert placed["order"]["status"] == "COMPLETED"

    # Orders queue their messages on the wall clock for now; move the test clock past it.
    clock.set(max(clock.now(), datetime.now(UTC)) + timedelta(minutes=1))
    totals = await Worker(runtime, OPTIONS).run_once()

    # The push, the billing and CRM syncs and the CRM opportunity (both CRM writes refused:
    # the local CRM has no account for this customer); the lifecycle jobs reconcile the past
    # quarters too.
    assert totals["outbox"] == 4
    shown = (await state(api, token, sub))["provisioning"]
    assert (shown["status"], shown["attempts"]) == ("PROVISIONED", 0)
    deployment_row = await db.get(Deployment, sub.deployment_id)
    assert deployment_row is not None
    ref = deployment_row.external_id
    pushed = (await runtime.providers.provisioning.get([ref]))[ref]
    assert (pushed.plan_code, pushed.seats, pushed.add_ons) == ("premium", 15, (("duo_pro", 3),))
    await db.refresh(sub)
    assert (sub.provisioning_status, sub.sync_status) == ("PROVISIONED", "SYNCED")
    remote = (await runtime.providers.billing.get_subscriptions([sub.provider_ref or ""])).get(
        sub.provider_ref or ""
    )
    assert remote is not None
    assert [(i.product_code, i.quantity) for i in remote.items] == [
        ("premium", 15),
        ("duo_pro", 3),
    ]


async def test_a_manual_renewal_starts_the_next_term_at_the_billing_provider(
    db: AsyncSession, api: Api, runtime: Runtime, clock: FixedClock, settings: Settings
) -> None:
    customer = await f.customer(db)
    owner = await f.user(db, member_of=customer, role=MemberRole.OWNER)
    sub = await f.subscription(db, customer, seats=10, seats_in_use=8, max_seats_used=8)
    token = user_token(settings, owner)
    clock.set(at(date(2026, 6, 1)))
    await outbox.enqueue(db, outbox.BILLING_SYNC, {"subscription_id": sub.id}, "first-sync")
    await db.flush()
    clock.set(max(clock.now(), datetime.now(UTC)) + timedelta(minutes=1))
    await Worker(runtime, OPTIONS).run_once()
    await db.refresh(sub)
    ref = sub.provider_ref or ""
    clock.set(at(date(2026, 12, 20)))
    order = {
        "subscriptionId": to_global_id("Subscription", sub.id or 0),
        "actions": [{"renew": {"seats": 12}}],
    }
    placed = await place(api, token, (await quote(api, token, **order))["token"])
    assert placed["order"]["status"] == "COMPLETED"

    await Worker(runtime, OPTIONS).run_once()

    remote = (await runtime.providers.billing.get_subscriptions([ref]))[ref]
    assert (remote.term_start, remote.term_end) == (date(2027, 1, 1), date(2028, 1, 1))
    assert [(i.product_code, i.quantity) for i in remote.items] == [("premium", 12)]
    await db.refresh(sub)
    assert sub.sync_status == "SYNCED"
