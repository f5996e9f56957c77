"""Integration events through the worker (inside the test's transaction, a FixedClock, the
local billing provider) to a fake subscriber over HTTP: a renewal's events signed and
verified, order per subscription with head-of-line blocking, giving up, 410 Gone, and what
the delivery log keeps."""

from __future__ import annotations

import asyncio
import textwrap
from collections.abc import AsyncIterator, Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from app.auth.principals import Principal, PrincipalKind
from app.clock import FixedClock
from app.config import Environment, Settings
from app.db.tables import (
    IntegrationAttempt,
    IntegrationDelivery,
    IntegrationEvent,
    IntegrationSubscriber,
    Subscription,
)
from app.db.unit_of_work import unit_of_work
from app.domain.errors import DomainError, ErrorCode
from app.domain.public_ids import global_id
from app.providers.registry import build_providers
from app.providers.webhooks import WebhookSender
from app.runtime import Runtime, build_runtime
from app.services import audit, integration_events, integration_subscribers
from app.services.integration_subscribers import SubscriberInput
from app.services.worker.options import WorkerOptions
from app.services.worker.runner import Worker
from tests.fakes.faults import Fault
from tests.fakes.integration.receiver import FakeSubscriber
from tests.services.lifecycle_support import at, run_at, subscribed
from tests.support import factories as f

API_GUIDE = Path(__file__).resolve().parents[2] / "docs" / "api-guide.md"
ADMIN = Principal(kind=PrincipalKind.ADMIN, id="admin-1", name="Admin")
WHY = audit.Attribution("integration test")
START = at(date(2026, 6, 1))
TERM_END = date(2027, 1, 1)
OPTIONS = WorkerOptions(jitter=0, worker_id="worker-a", max_attempts=3)


@pytest.fixture(scope="module")
async def receiver() -> AsyncIterator[FakeSubscriber]:
    fake = FakeSubscriber()
    await fake.start()
    yield fake
    await fake.close()


@pytest.fixture
def fake(receiver: FakeSubscriber) -> FakeSubscriber:
    receiver.reset()
    return receiver


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
async def runtime(
    settings: Settings, session_factory: async_sessionmaker[AsyncSession], clock: FixedClock
) -> AsyncIterator[Runtime]:
    providers = build_providers(settings, session_factory, clock)
    yield build_runtime(settings, sessions=session_factory, clock=clock, providers=providers)
    await providers.aclose()


async def subscribe(
    runtime: Runtime, fake: FakeSubscriber, name: str, events: tuple[str, ...] = ()
) -> IntegrationSubscriber:
    given = SubscriberInput(name=name, url=fake.url(name), events=events)
    created = await integration_subscribers.create(runtime, ADMIN, given, WHY)
    fake.secrets[name] = created.secret
    return created.subscriber


async def emit(runtime: Runtime, sub: Subscription, note: str) -> IntegrationEvent:
    async with unit_of_work(runtime.sessions) as session:
        row = await session.get(Subscription, sub.id)
        assert row is not None
        body = integration_events.subscription_expired(row, trial=False) | {"note": note}
        return await integration_events.emit(
            session, integration_events.SUBSCRIPTION_EXPIRED, row, body, now=runtime.clock.now()
        )


async def run(runtime: Runtime) -> None:
    await Worker(runtime, OPTIONS).run_once()


async def deliveries(db: AsyncSession, event: IntegrationEvent) -> list[tuple[str, int]]:
    rows = await db.scalars(
        sa.select(IntegrationDelivery).where(col(IntegrationDelivery.event_id) == event.id)
    )
    return [(row.status.value, row.attempts) for row in rows]


async def attempts(db: AsyncSession, event: IntegrationEvent) -> list[tuple[int | None, bool]]:
    rows = await db.scalars(
        sa.select(IntegrationAttempt)
        .join(IntegrationDelivery, col(IntegrationDelivery.id) == IntegrationAttempt.delivery_id)
        .where(col(IntegrationDelivery.event_id) == event.id)
        .order_by(col(IntegrationAttempt.id))
    )
    return [(row.status_code, row.gave_up) for row in rows]


async def test_a_renewal_is_told_signed_with_public_ids_and_exact_cents(
    db: AsyncSession, runtime: Runtime, clock: FixedClock, fake: FakeSubscriber
) -> None:
    sub = await subscribed(db, "premium", seats=10)
    await subscribe(runtime, fake, "warehouse")
    await subscribe(runtime, fake, "payments", ("payment.succeeded",))

    await run_at(runtime, clock, at(TERM_END))

    assert fake.refused == []
    kinds = [each.body["kind"] for each in fake.deliveries["warehouse"]]
    assert kinds == ["payment.succeeded", "renewal.completed"]
    assert [each.body["kind"] for each in fake.deliveries["payments"]] == ["payment.succeeded"]
    paid, renewed = (each.body for each in fake.deliveries["warehouse"])
    assert [paid["sequence"], renewed["sequence"]] == [1, 2]
    assert fake.deliveries["warehouse"][0].headers["Fulfillment-Event-Id"] == paid["id"]
    assert paid["id"].startswith("evt_") and paid["id"] != renewed["id"]
    total = 10 * 34_800
    invoice = renewed["data"]["invoice"]
    assert invoice["total"] == {"amount": total, "currency": "USD"}
    assert invoice["amountPaid"] == {"amount": total, "currency": "USD"}
    assert invoice["status"] == "PAID" and invoice["number"].startswith("INV-")
    assert paid["data"]["payment"]["amount"] == {"amount": total, "currency": "USD"}
    assert paid["data"]["payment"]["status"] == "SUCCEEDED"
    assert paid["data"]["invoice"]["id"] == invoice["id"]
    assert renewed["data"]["renewal"] == {
        "seats": 10,
        "termStart": "2027-01-01",
        "termEnd": "2028-01-01",
        "attempt": 1,
    }
    assert renewed["data"]["subscription"] == {
        "id": global_id("Subscription", sub.id or 0),
        "number": sub.number,
        "customer": global_id("Customer", sub.customer_id),
        "status": "ACTIVE",
        "seats": 10,
        "termStart": "2027-01-01",
        "termEnd": "2028-01-01",
    }
    assert renewed["occurredAt"] == at(TERM_END).isoformat()
    # Nothing names a row by its integer key.
    assert "_id" not in fake.deliveries["warehouse"][1].raw.decode()


async def test_a_failing_event_holds_back_its_subscription_only_then_all_arrive_in_order(
    db: AsyncSession, runtime: Runtime, clock: FixedClock, fake: FakeSubscriber
) -> None:
    sub_a, sub_b = await subscribed(db), await subscribed(db)
    await subscribe(runtime, fake, "dwh")
    a1, a2 = await emit(runtime, sub_a, "a1"), await emit(runtime, sub_a, "a2")
    b1, b2 = await emit(runtime, sub_b, "b1"), await emit(runtime, sub_b, "b2")
    fake.inject(Fault.SERVER_ERROR, event_id=a1.public_id)

    await run(runtime)

    assert fake.event_ids("dwh") == [b1.public_id, b2.public_id]
    assert a2.public_id not in fake.attempts  # never sent before a1 got through
    assert await deliveries(db, a1) == [("PENDING", 1)]
    assert await attempts(db, a1) == [(500, False)]
    assert await deliveries(db, a2) == [("PENDING", 0)]

    clock.advance(timedelta(seconds=6))  # the first retry is due after 5 s
    await run(runtime)

    assert fake.event_ids("dwh") == [b1.public_id, b2.public_id, a1.public_id, a2.public_id]
    assert [each.body["sequence"] for each in fake.deliveries["dwh"]] == [1, 2, 1, 2]
    assert await deliveries(db, a1) == [("DELIVERED", 2)]
    assert await attempts(db, a1) == [(500, False), (200, False)]
    assert fake.duplicates["dwh"] == []


async def test_giving_up_is_logged_and_the_next_event_goes_out(
    db: AsyncSession, runtime: Runtime, clock: FixedClock, fake: FakeSubscriber
) -> None:
    sub = await subscribed(db)
    await subscribe(runtime, fake, "partner")
    first, second = await emit(runtime, sub, "first"), await emit(runtime, sub, "second")
    fake.inject(Fault.SERVER_ERROR, times=OPTIONS.max_attempts, event_id=first.public_id)

    for _ in range(OPTIONS.max_attempts):
        await run(runtime)
        clock.advance(timedelta(minutes=1))

    assert await deliveries(db, first) == [("FAILED", 3)]
    assert await attempts(db, first) == [(500, False), (500, False), (500, True)]
    assert fake.event_ids("partner") == [second.public_id]
    assert await deliveries(db, second) == [("DELIVERED", 1)]

    # Redelivered by hand: the same event id and body, once more.
    redelivered = await integration_subscribers.redeliver(runtime, ADMIN, first.public_id, WHY)
    assert redelivered.queued == 1
    again = await integration_subscribers.redeliver(runtime, ADMIN, first.public_id, WHY)
    assert again.queued == 1  # still on its way: not queued twice
    await run(runtime)
    assert fake.event_ids("partner") == [second.public_id, first.public_id]
    assert fake.duplicates["partner"] == []
    assert await deliveries(db, first) == [("DELIVERED", 4)]


async def test_410_gone_deactivates_the_subscriber_and_nothing_more_is_sent(
    db: AsyncSession, runtime: Runtime, fake: FakeSubscriber
) -> None:
    sub = await subscribed(db)
    subscriber = await subscribe(runtime, fake, "old")
    first, second = await emit(runtime, sub, "first"), await emit(runtime, sub, "second")
    fake.gone("old")

    await run(runtime)

    subscriber = await db.get(IntegrationSubscriber, subscriber.id, populate_existing=True)
    assert subscriber is not None
    assert (subscriber.active, subscriber.deactivated_reason) == (False, "gone")
    assert fake.attempts == [first.public_id]  # the second is failed unsent
    assert await attempts(db, first) == [(410, True)]
    assert await deliveries(db, second) == [("FAILED", 0)]
    third = await emit(runtime, sub, "third")
    assert await deliveries(db, third) == []  # an inactive subscriber gets no deliveries


async def test_an_event_with_no_subscriber_is_kept_numbered_and_can_be_sent_later(
    db: AsyncSession, runtime: Runtime, fake: FakeSubscriber
) -> None:
    sub = await subscribed(db)
    early = await emit(runtime, sub, "early")
    assert (early.sequence, await deliveries(db, early)) == (1, [])
    await subscribe(runtime, fake, "late")
    assert (await integration_subscribers.redeliver(runtime, ADMIN, early.public_id, WHY)).queued
    await run(runtime)
    assert fake.event_ids("late") == [early.public_id]


async def test_the_secret_is_stored_encrypted_and_bound_to_its_subscriber(
    db: AsyncSession, runtime: Runtime, fake: FakeSubscriber
) -> None:
    subscriber = await subscribe(runtime, fake, "vault")
    secret = fake.secrets["vault"]
    assert secret.startswith("whsec_") and secret not in subscriber.secret
    assert integration_subscribers.decrypt_secret(runtime.settings, subscriber) == secret
    other = IntegrationSubscriber(
        public_id="isub_other", name="x", url="https://x.example", secret=subscriber.secret
    )
    with pytest.raises(ValueError, match="unreadable"):
        integration_subscribers.decrypt_secret(runtime.settings, other)


@pytest.mark.parametrize(
    ("url", "production"),
    [
        ("ftp://dwh.example/hook", False),
        ("https://user:pw@dwh.example/hook", False),
        ("https://dwh.example/hook#x", False),
        ("https:///hook", False),
        ("http://dwh.example/hook", True),
        # production: the private network the server sits in is out of reach
        ("https://10.0.0.5/hook", True),
        ("https://127.0.0.1/hook", True),
        ("https://[::1]/hook", True),
        ("https://[::ffff:192.168.1.9]/hook", True),
        ("https://169.254.169.254/latest/meta-data", True),
        ("https://localhost/hook", True),
    ],
)
def test_urls_refused(settings: Settings, url: str, production: bool) -> None:
    if production:
        settings = settings.model_copy(update={"environment": Environment.PRODUCTION})
    with pytest.raises(DomainError) as refused:
        integration_subscribers.check_url(url, settings)
    assert refused.value.code is ErrorCode.VALIDATION


def test_https_accepted_in_production_and_http_in_test(settings: Settings) -> None:
    production = settings.model_copy(update={"environment": Environment.PRODUCTION})
    assert integration_subscribers.check_url(" https://dwh.example/h ", production) == (
        "https://dwh.example/h"
    )
    assert integration_subscribers.check_url("http://127.0.0.1:9/h", settings)
    allowed = production.model_copy(update={"integration_allow_private_networks": True})
    assert integration_subscribers.check_url("https://10.0.0.5/h", allowed)


def _readme_verify() -> Callable[..., bool]:
    """The receiver's `verify` from docs/api-guide.md "Integration events", as copied."""
    section = API_GUIDE.read_text().split("## Integration events", 1)[1].split("\n## ", 1)[0]
    code = textwrap.dedent(section.split("```python\n", 1)[1].split("```", 1)[0])
    scope: dict[str, Any] = {}
    exec(compile(code, "docs/api-guide.md", "exec"), scope)
    return scope["verify"]  # type: ignore[no-any-return]


async def test_the_readme_receiver_verifies_deliveries_and_refuses_a_changed_body(
    db: AsyncSession, runtime: Runtime, fake: FakeSubscriber
) -> None:
    verify = _readme_verify()
    sub = await subscribed(db)
    await subscribe(runtime, fake, "readme")
    await emit(runtime, sub, "readme")
    await run(runtime)

    [delivery] = fake.deliveries["readme"]
    header, secret = delivery.headers["Fulfillment-Signature"], fake.secrets["readme"]
    assert verify(delivery.raw, header, secret)
    assert not verify(delivery.raw.replace(b"readme", b"README"), header, secret)
    assert not verify(delivery.raw, header, secret + "x")


async def test_a_true_up_is_told_with_its_invoice(
    db: AsyncSession, runtime: Runtime, clock: FixedClock, fake: FakeSubscriber
) -> None:
    sub = await subscribed(db, seats=100)
    await f.seat_report(db, sub, date(2026, 1, 1), 100)
    await f.seat_report(db, sub, date(2026, 3, 31), 110)
    await subscribe(runtime, fake, "dwh", ("reconciliation.invoiced",))

    for day in (date(2026, 3, 31), date(2026, 4, 1), date(2026, 4, 8)):
        await run_at(runtime, clock, at(day))

    [told] = (each.body for each in fake.deliveries["dwh"])
    assert told["kind"] == "reconciliation.invoiced"
    assert told["data"]["reconciliation"] == {
        "quarter": 1,
        "quarterStart": "2026-01-01",
        "quarterEnd": "2026-04-01",
        "paidSeats": 100,
        "maxSeatsUsed": 110,
        "billedSeats": 10,
        "status": "PAID",
    }
    assert told["data"]["invoice"]["total"] == {"amount": 261_000, "currency": "USD"}
    assert told["data"]["subscription"]["seats"] == 110


async def test_a_declined_renewal_then_expiry_are_told(
    db: AsyncSession, runtime: Runtime, clock: FixedClock, fake: FakeSubscriber
) -> None:
    sub = await subscribed(db, seats=10, payment_method="pm_card_declined")
    await subscribe(runtime, fake, "dwh")

    await run_at(runtime, clock, at(TERM_END))
    failed, declined = (each.body for each in fake.deliveries["dwh"])
    assert (failed["kind"], declined["kind"]) == ("payment.failed", "renewal.failed")
    assert failed["data"]["payment"]["amount"] == {"amount": 348_000, "currency": "USD"}
    assert failed["data"]["payment"]["failureCode"] == "card_declined"
    assert declined["data"]["renewal"]["failureCode"] == "card_declined"
    assert declined["data"]["renewal"]["nextAttemptOn"] == "2027-01-04"
    assert declined["data"]["subscription"]["status"] == "GRACE"

    await run_at(runtime, clock, at(date(2027, 1, 15)))
    expired = fake.deliveries["dwh"][-1].body
    assert expired["kind"] == "subscription.expired"
    assert expired["data"]["expiredOn"] == "2027-01-01" and expired["data"]["trial"] is False
    assert expired["data"]["subscription"]["number"] == sub.number
    sequences = [each.body["sequence"] for each in fake.deliveries["dwh"]]
    assert sequences == list(range(1, len(sequences) + 1))


async def test_a_receiver_that_never_answers_is_cut_off_at_the_timeout_and_retried(
    db: AsyncSession, runtime: Runtime, fake: FakeSubscriber
) -> None:
    runtime.providers.webhooks = WebhookSender(timeout_seconds=0.2)
    sub = await subscribed(db)
    await subscribe(runtime, fake, "slow")
    event = await emit(runtime, sub, "slow")
    fake.inject(Fault.TIMEOUT, event_id=event.public_id)

    await asyncio.wait_for(run(runtime), timeout=5)

    [attempt] = await db.scalars(sa.select(IntegrationAttempt))
    assert (attempt.status_code, attempt.error, attempt.delivered) == (
        None,
        "no answer within 0.2s",
        False,
    )
    assert 150 <= attempt.duration_ms < 2000
    assert await deliveries(db, event) == [("PENDING", 1)]
