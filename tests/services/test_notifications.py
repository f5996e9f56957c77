"""Notifications: who gets them, once per event, and the e-mail the worker sends for each."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from app.clock import FixedClock
from app.config import Settings
from app.db.tables import (
    Customer,
    LocalMail,
    Membership,
    Notification,
    OutboxMessage,
    PortalUser,
)
from app.domain.enums import MemberRole, NotificationKind, OutboxStatus
from app.providers.errors import ProviderUnavailable
from app.providers.mailer import EmailMessage
from app.providers.registry import build_providers
from app.runtime import Runtime, build_runtime
from app.services import notifications
from app.services.worker.in_process import running_worker
from app.services.worker.options import WorkerOptions
from app.services.worker.runner import Worker
from tests.support import factories as f

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)


@pytest.fixture
def runtime(settings: Settings, session_factory: async_sessionmaker[AsyncSession]) -> Runtime:
    clock = FixedClock(NOW)
    providers = build_providers(settings, session_factory, clock)
    return build_runtime(settings, sessions=session_factory, clock=clock, providers=providers)


async def _customer_with_contacts(db: AsyncSession) -> tuple[Customer, dict[str, int]]:
    customer = await f.customer(db)
    users = {
        role.value: (await f.user(db, member_of=customer, role=role)).id or 0
        for role in (MemberRole.OWNER, MemberRole.BILLING_ADMIN, MemberRole.VIEWER)
    }
    return customer, users


async def _notify(db: AsyncSession, customer: Customer, key: str = "seat-alert:1") -> int:
    created = await notifications.notify(
        db,
        customer_id=customer.id or 0,
        kind=NotificationKind.SEAT_ALERT,
        title="2 seats left",
        body="Your subscription has 2 seats left.",
        dedupe_key=key,
        now=NOW,
    )
    await db.flush()  # the worker reads through its own sessions
    return created


async def _rows(db: AsyncSession, table: type, *where: sa.ColumnElement[bool]) -> list:
    stmt = sa.select(table).where(*where).execution_options(populate_existing=True)
    return list((await db.scalars(stmt)).all())


async def test_owners_and_billing_admins_are_notified_once_and_viewers_not(
    db: AsyncSession,
) -> None:
    customer, users = await _customer_with_contacts(db)

    assert await _notify(db, customer) == 2
    assert await _notify(db, customer) == 0  # the same event again

    rows = await _rows(db, Notification, col(Notification.customer_id) == customer.id)
    assert sorted(r.user_id for r in rows) == sorted([users["OWNER"], users["BILLING_ADMIN"]])
    assert {(r.kind, r.dedupe_key, r.read_at) for r in rows} == {
        (NotificationKind.SEAT_ALERT, "seat-alert:1", None)
    }
    emails = await _rows(db, OutboxMessage, col(OutboxMessage.topic) == notifications.EMAIL)
    assert sorted(m.payload["notification_id"] for m in emails) == sorted(r.id for r in rows)


async def test_a_new_contact_gets_an_event_the_others_already_had(db: AsyncSession) -> None:
    customer, _ = await _customer_with_contacts(db)
    await _notify(db, customer)
    await f.user(db, member_of=customer, role=MemberRole.BILLING_ADMIN)

    assert await _notify(db, customer) == 1


async def test_the_worker_mails_each_notification_once(db: AsyncSession, runtime: Runtime) -> None:
    customer, users = await _customer_with_contacts(db)
    await _notify(db, customer)
    owner = await db.get(PortalUser, users["OWNER"])
    assert owner is not None

    worker = Worker(runtime, WorkerOptions(jitter=0))
    first = await worker.run_once()
    again = await worker.run_once()

    assert (first["outbox"], again["outbox"]) == (2, 0)
    mail = await _rows(db, LocalMail)
    assert sorted(m.to for m in mail if m.to == owner.email) == [owner.email]
    assert len(mail) == 2
    assert {(m.subject, m.body) for m in mail} == {
        ("2 seats left", "Your subscription has 2 seats left.")
    }


class DownMailer:
    def __init__(self) -> None:
        self.calls = 0

    async def send(self, message: EmailMessage, *, idempotency_key: str) -> None:
        self.calls += 1
        raise ProviderUnavailable("smtp", "connection refused")


async def test_a_mail_outage_is_retried_and_rolls_nothing_back(
    db: AsyncSession, runtime: Runtime
) -> None:
    customer = await f.customer(db)
    await f.user(db, member_of=customer, role=MemberRole.OWNER)
    await _notify(db, customer)
    runtime.providers.mailer = DownMailer()

    await Worker(runtime, WorkerOptions(jitter=0)).run_once()

    (message,) = await _rows(db, OutboxMessage, col(OutboxMessage.topic) == notifications.EMAIL)
    assert (message.status, message.attempts) == (OutboxStatus.PENDING, 1)
    assert "connection refused" in (message.last_error or "")
    assert len(await _rows(db, Notification)) == 1
    assert await _rows(db, LocalMail) == []


async def test_the_in_process_worker_sends_while_the_server_runs(
    db: AsyncSession, runtime: Runtime
) -> None:
    customer = await f.customer(db)
    await f.user(db, member_of=customer, role=MemberRole.OWNER)
    await _notify(db, customer)
    runtime.settings = runtime.settings.model_copy(update={"worker_in_process": True})

    async with running_worker(runtime) as worker:
        assert worker is not None
        for _ in range(100):
            if await _rows(db, LocalMail):
                break
            await asyncio.sleep(0.02)

    assert worker.stopping
    assert len(await _rows(db, LocalMail)) == 1


async def test_no_in_process_worker_unless_asked(runtime: Runtime) -> None:
    async with running_worker(runtime) as worker:
        assert worker is None


async def test_a_contact_removed_before_the_mail_goes_out_is_not_mailed(
    db: AsyncSession, runtime: Runtime
) -> None:
    customer, users = await _customer_with_contacts(db)
    await _notify(db, customer)
    await db.execute(sa.delete(Membership).where(col(Membership.user_id) == users["OWNER"]))

    await Worker(runtime, WorkerOptions(jitter=0)).run_once()

    billing_admin = await db.get(PortalUser, users["BILLING_ADMIN"])
    assert billing_admin is not None
    assert [m.to for m in await _rows(db, LocalMail)] == [billing_admin.email]
    failed = await _rows(db, OutboxMessage, col(OutboxMessage.status) == OutboxStatus.FAILED)
    assert len(failed) == 1  # the owner's: given up at once, nothing sent
