"""testClockAdvance: admins move a non-production clock forward, stopping at each UTC
midnight to run what falls due; it never moves back, and production refuses it."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest
import sqlalchemy as sa
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from app.clock import FixedClock, OffsetClock, SystemClock
from app.config import Settings
from app.db.tables import AuditEvent, LocalMail
from app.domain.enums import MemberRole, NotificationKind, SubscriptionStatus, TokenKind
from app.main import create_app
from app.providers.registry import build_providers
from app.runtime import Runtime, build_runtime
from app.services import notifications
from app.services.worker.options import WorkerOptions
from app.services.worker.runner import Worker
from resolvers.ids import to_global_id
from tests.support import factories as f
from tests.support.graphql import Api, api_token, user_token
from tests.support.snapshots import table_counts

ADVANCE = """mutation($to: DateTime!, $reason: String) {
  testClockAdvance(to: $to, reason: $reason) {
    __typename ... on UserError { code message }
    ... on TestClockAdvancePayload { previous now stops reachedTarget jobs { name handled } }
  } }"""


async def _admin(db: AsyncSession) -> str:
    return await api_token(db, TokenKind.ADMIN)


async def test_advancing_stops_at_each_midnight_and_runs_what_falls_due(
    api: Api, db: AsyncSession, clock: FixedClock
) -> None:
    customer = await f.customer(db)
    await f.user(db, member_of=customer, role=MemberRole.OWNER)
    # An e-mail due two days from now: sent on the way, not before.
    await notifications.notify(
        db,
        customer_id=customer.id or 0,
        kind=NotificationKind.RENEWAL_REMINDER,
        title="Renewal in 15 days",
        body="...",
        dedupe_key="reminder",
        now=clock.now() + timedelta(days=2),
    )
    await db.flush()
    start = clock.now()  # 2026-06-01T12:00Z

    data = await api.data(
        ADVANCE, {"to": "2026-06-04T09:00:00Z", "reason": "demo"}, token=await _admin(db)
    )

    result = data["testClockAdvance"]
    assert result["__typename"] == "TestClockAdvancePayload"
    assert (result["previous"], result["now"]) == (start.isoformat(), "2026-06-04T09:00:00+00:00")
    assert result["stops"] == 4  # midnights of the 2nd, 3rd and 4th, then 09:00
    assert result["reachedTarget"] is True
    assert {"name": "outbox", "handled": 1} in result["jobs"]
    assert clock.now() == datetime(2026, 6, 4, 9, tzinfo=UTC)
    assert len((await db.scalars(sa.select(LocalMail))).all()) == 1
    audit = (
        await db.scalars(
            sa.select(AuditEvent).where(col(AuditEvent.action) == "test_clock.advanced")
        )
    ).one()
    assert (audit.reason, audit.after) == ("demo", {"now": "2026-06-04T09:00:00+00:00"})


async def test_a_spent_budget_stops_early_and_reports_and_audits_exactly_what_it_applied(
    db: AsyncSession, settings: Settings, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    """A budget this small is spent by the first stop: each call moves one stop, commits,
    audits that span and says it stopped short; the client calls again until it arrives."""
    clock = FixedClock(datetime(2026, 6, 1, 12, tzinfo=UTC))
    tight = settings.model_copy(update={"test_clock_budget_seconds": 1e-9})
    providers = build_providers(tight, session_factory, clock)
    runtime = build_runtime(tight, sessions=session_factory, clock=clock, providers=providers)
    customer = await f.customer(db)
    await f.user(db, member_of=customer, role=MemberRole.OWNER)
    await notifications.notify(
        db,
        customer_id=customer.id or 0,
        kind=NotificationKind.RENEWAL_REMINDER,
        title="Renewal in 15 days",
        body="...",
        dedupe_key="reminder",
        now=datetime(2026, 6, 3, 12, tzinfo=UTC),
    )
    token = await _admin(db)
    answers, mails = [], []
    transport = httpx.ASGITransport(app=create_app(runtime=runtime))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        for _ in range(6):
            data = await Api(client).data(
                ADVANCE, {"to": "2026-06-05T09:00:00Z", "reason": "step"}, token=token
            )
            answers.append(data["testClockAdvance"])
            mails.append(len((await db.scalars(sa.select(LocalMail))).all()))
            if answers[-1]["reachedTarget"]:
                break

    moments = ["2026-06-01T12:00:00", "2026-06-02T00:00:00", "2026-06-03T00:00:00",
               "2026-06-04T00:00:00", "2026-06-05T00:00:00", "2026-06-05T09:00:00"]  # fmt: skip
    spans = [(f"{a}+00:00", f"{b}+00:00") for a, b in itertools.pairwise(moments)]
    assert [(a["previous"], a["now"]) for a in answers] == spans
    assert [(a["stops"], a["reachedTarget"]) for a in answers] == [(1, False)] * 4 + [(1, True)]
    assert mails == [0, 0, 1, 1, 1]  # due 06-03 12:00: sent at the stop of 06-04 00:00
    assert clock.now() == datetime(2026, 6, 5, 9, tzinfo=UTC)
    audits = (
        await db.scalars(
            sa.select(AuditEvent)
            .where(col(AuditEvent.action) == "test_clock.advanced")
            .order_by(col(AuditEvent.id))
        )
    ).all()
    assert [(e.before["now"], e.after["now"]) for e in audits] == spans  # type: ignore[index]


@pytest.mark.parametrize(
    ("variables", "code"),
    [
        ({"to": "2026-05-31T00:00:00Z", "reason": "back"}, "VALIDATION"),
        ({"to": "2026-06-01T12:00:00Z", "reason": "same"}, "VALIDATION"),
        ({"to": "2030-01-01T00:00:00Z", "reason": "far"}, "VALIDATION"),
        ({"to": "2026-06-02T00:00:00Z", "reason": None}, "VALIDATION"),
    ],
)
async def test_refusals_move_nothing(
    api: Api, db: AsyncSession, clock: FixedClock, variables: dict[str, str], code: str
) -> None:
    token = await _admin(db)
    start, before = clock.now(), await table_counts(db)

    data = await api.data(ADVANCE, variables, token=token)

    assert data["testClockAdvance"]["code"] == code
    assert clock.now() == start
    assert await table_counts(db) == before


async def test_a_wall_clock_server_refuses(
    db: AsyncSession, settings: Settings, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    clock = SystemClock()
    providers = build_providers(settings, session_factory, clock)
    runtime = build_runtime(settings, sessions=session_factory, clock=clock, providers=providers)
    token = await _admin(db)
    transport = httpx.ASGITransport(app=create_app(runtime=runtime))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        data = await Api(client).data(
            ADVANCE, {"to": "2099-01-01T00:00:00Z", "reason": "x"}, token=token
        )

    assert data["testClockAdvance"]["code"] == "TEST_CLOCK_DISABLED"


def test_the_setting_picks_the_offset_clock_and_production_refuses_it(
    settings: Settings,
) -> None:
    on = settings.model_copy(update={"test_clock": True})
    assert isinstance(build_runtime(on, sessions=_unused()).clock, OffsetClock)
    assert isinstance(build_runtime(settings, sessions=_unused()).clock, SystemClock)
    with pytest.raises(ValidationError, match="TEST_CLOCK"):
        Settings(
            environment="production",
            jwt_secret="x" * 40,
            license_signing_key="unused",
            test_clock=True,
        )


def test_the_offset_clock_only_moves_forward() -> None:
    clock = OffsetClock()
    before = clock.now()
    clock.advance(timedelta(days=30))
    assert clock.now() - before >= timedelta(days=30)
    with pytest.raises(ValueError, match="forward"):
        clock.advance(timedelta(seconds=-1))


def _unused() -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker()


async def test_a_job_audits_at_the_business_time_the_clock_reached(
    api: Api, db: AsyncSession
) -> None:
    """One clock everywhere: the trial's end is audited at the stop whose jobs ended it
    (the test clock's midnight of its term end), not at the wall clock's time."""
    customer = await f.customer(db)
    trial = await f.subscription(
        db,
        customer,
        "ultimate",
        status=SubscriptionStatus.TRIAL,
        term_start=date(2026, 5, 5),
        term_end=date(2026, 6, 3),
    )

    data = await api.data(
        ADVANCE, {"to": "2026-06-04T09:00:00Z", "reason": "trial end"}, token=await _admin(db)
    )

    assert data["testClockAdvance"]["reachedTarget"] is True
    ended = (
        await db.scalars(
            sa.select(AuditEvent)
            .where(col(AuditEvent.action) == "trial.ended")
            .where(col(AuditEvent.target_id) == str(trial.id))
        )
    ).one()
    assert _utc(ended.occurred_at) == datetime(2026, 6, 3, tzinfo=UTC)
    advanced = (
        await db.scalars(
            sa.select(AuditEvent).where(col(AuditEvent.action) == "test_clock.advanced")
        )
    ).one()
    assert _utc(advanced.occurred_at) == datetime(2026, 6, 4, 9, tzinfo=UTC)


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


async def test_a_change_queues_its_sync_at_the_business_time(
    api: Api, db: AsyncSession, runtime: Runtime, settings: Settings
) -> None:
    """The clock (June 2026) is behind the wall: a message queued on the wall clock would not
    be due for the worker on the runtime clock."""
    customer = await f.customer(db)
    owner = user_token(settings, await f.user(db, member_of=customer, role=MemberRole.OWNER))
    sub = await f.subscription(db, customer)
    data = await api.data(
        """mutation($id: ID!) {
          subscriptionSetAutoRenew(id: $id, autoRenew: false, reason: "budget") { __typename } }""",
        {"id": to_global_id("Subscription", sub.id or 0)},
        token=owner,
    )
    assert data["subscriptionSetAutoRenew"]["__typename"] == "SubscriptionSetAutoRenewPayload"

    await Worker(runtime, WorkerOptions(jitter=0, worker_id="one-clock")).run_once()

    await db.refresh(sub)
    assert (sub.sync_status, sub.provider_ref is not None) == ("SYNCED", True)
