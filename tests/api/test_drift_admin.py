"""Drift for staff over the API: a subscription's findings, the admin tasks and resolving
one, and `subscriptionResync`: audited with the reason; an unknown id or an empty reason is
a typed error that changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.db.tables import (
    AdminTask,
    AuditEvent,
    DriftCheck,
    DriftFinding,
    OutboxMessage,
    Subscription,
)
from app.domain.enums import AdminTaskKind, DriftRepair, DriftSystem, SyncStatus, TokenKind
from app.services import outbox
from resolvers.ids import to_global_id
from tests.support import factories as f
from tests.support.graphql import Api, api_token
from tests.support.snapshots import table_counts

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)  # the API tests' clock
DRIFT = """query($id: ID!, $all: Boolean!) { subscription(id: $id) {
  syncStatus drift(includeResolved: $all) {
    system field localValue remoteValue repair detectedAt repairedAt resolvedAt } } }"""
TASKS = """query($status: AdminTaskStatus) { adminTasks(status: $status) {
  id kind status detail resolvedBy resolution subscription { number } } }"""
RESOLVE = """mutation($id: ID!, $reason: String!) { adminTaskResolve(id: $id, reason: $reason) {
  __typename ... on AdminTaskResolvePayload { adminTask { status resolution } }
  ... on UserError { code message } } }"""
RESYNC = """mutation($id: ID!, $reason: String!) { subscriptionResync(id: $id, reason: $reason) {
  __typename ... on SubscriptionResyncPayload { subscription { number syncStatus } }
  ... on UserError { code message } } }"""


@pytest.fixture
async def admin(db: AsyncSession) -> str:
    return await api_token(db, TokenKind.ADMIN)


@pytest.fixture
async def sub(db: AsyncSession) -> Subscription:
    return await f.subscription(db, await f.customer(db), sync_status=SyncStatus.SYNCED)


async def _finding(db: AsyncSession, sub: Subscription, **overrides: Any) -> DriftFinding:
    values = {
        "subscription_id": sub.id,
        "system": DriftSystem.BILLING,
        "field": "invoice.total:INV-000001",
        "local_value": "348000",
        "remote_value": "350000",
        "repair": DriftRepair.ADMIN_TASK,
        "detected_at": NOW,
    }
    return await f.add(db, DriftFinding(**(values | overrides)))


async def _task(db: AsyncSession, sub: Subscription) -> AdminTask:
    finding = await _finding(db, sub)
    task = AdminTask(
        subscription_id=sub.id,
        finding_id=finding.id,
        kind=AdminTaskKind.MONEY_DRIFT,
        detail="BILLING invoice.total:INV-000001: local 348000, provider 350000.",
        created_at=NOW,
    )
    return await f.add(db, task)


async def test_admins_see_the_open_findings_and_all_on_request(
    api: Api, db: AsyncSession, sub: Subscription, admin: str
) -> None:
    await _finding(
        db,
        sub,
        system=DriftSystem.CRM,
        field="plan",
        local_value="premium",
        remote_value="ultimate",
        repair=DriftRepair.REPUSH,
        repaired_at=NOW,
        resolved_at=NOW,
    )
    await _finding(
        db,
        sub,
        field="seats",
        local_value="10",
        remote_value="12",
        repair=DriftRepair.REPUSH,
        repaired_at=NOW,
    )
    gid = to_global_id("Subscription", sub.id or 0)

    shown = await api.data(DRIFT, {"id": gid, "all": False}, token=admin)
    every = await api.data(DRIFT, {"id": gid, "all": True}, token=admin)

    assert shown["subscription"]["drift"] == [
        {
            "system": "BILLING",
            "field": "seats",
            "localValue": "10",
            "remoteValue": "12",
            "repair": "REPUSH",
            "detectedAt": "2026-06-01T12:00:00+00:00",
            "repairedAt": "2026-06-01T12:00:00+00:00",
            "resolvedAt": None,
        }
    ]
    assert [found["field"] for found in every["subscription"]["drift"]] == ["seats", "plan"]


async def test_resolving_a_task_is_audited_and_changes_nothing_else(
    api: Api, db: AsyncSession, sub: Subscription, admin: str
) -> None:
    task = await _task(db, sub)
    gid = to_global_id("AdminTask", task.id or 0)
    listed = await api.data(TASKS, {"status": "OPEN"}, token=admin)
    assert [row["id"] for row in listed["adminTasks"]] == [gid]
    assert listed["adminTasks"][0]["subscription"] == {"number": sub.number}
    before = await table_counts(db)

    data = await api.data(RESOLVE, {"id": gid, "reason": "refunded at Stripe"}, token=admin)

    assert data["adminTaskResolve"]["adminTask"] == {
        "status": "RESOLVED",
        "resolution": "refunded at Stripe",
    }
    assert await table_counts(db) == before | {"audit_event": before["audit_event"] + 1}
    (event,) = (await db.scalars(sa.select(AuditEvent))).all()
    assert (event.action, event.target_type, event.reason) == (
        "admin_task.resolved",
        "AdminTask",
        "refunded at Stripe",
    )
    assert (await api.data(TASKS, {"status": "OPEN"}, token=admin))["adminTasks"] == []
    resolved = await api.data(TASKS, {"status": "RESOLVED"}, token=admin)
    assert [row["resolution"] for row in resolved["adminTasks"]] == ["refunded at Stripe"]
    again = await api.data(RESOLVE, {"id": gid, "reason": "twice"}, token=admin)
    assert again["adminTaskResolve"]["code"] == "VALIDATION"


async def test_resync_queues_both_pushes_and_a_check_due_now(
    api: Api, db: AsyncSession, sub: Subscription, admin: str
) -> None:
    gid = to_global_id("Subscription", sub.id or 0)

    data = await api.data(RESYNC, {"id": gid, "reason": "customer says seats wrong"}, token=admin)

    assert data["subscriptionResync"]["subscription"] == {
        "number": sub.number,
        "syncStatus": "PENDING",
    }
    messages = (await db.scalars(sa.select(OutboxMessage).order_by(col(OutboxMessage.id)))).all()
    assert [(m.topic, m.payload) for m in messages] == [
        (outbox.BILLING_SYNC, {"subscription_id": sub.id}),
        (outbox.CRM_SYNC, {"subscription_id": sub.id}),
    ]
    (due,) = (await db.scalars(sa.select(DriftCheck))).all()
    assert (due.subscription_id, due.due_at) == (sub.id, NOW)
    (event,) = (await db.scalars(sa.select(AuditEvent))).all()
    assert (event.action, event.target_id, event.reason) == (
        "subscription.resync",
        str(sub.id),
        "customer says seats wrong",
    )


@pytest.mark.parametrize(
    ("target", "reason", "code"),
    [
        ("unknown", "why not", "NOT_FOUND"),
        ("known", "   ", "VALIDATION"),
        ("invoice", "why not", "NOT_FOUND"),
    ],
)
async def test_a_refused_resync_changes_nothing(
    api: Api,
    db: AsyncSession,
    sub: Subscription,
    admin: str,
    target: str,
    reason: str,
    code: str,
) -> None:
    ids = {
        "unknown": to_global_id("Subscription", 999_999),
        "known": to_global_id("Subscription", sub.id or 0),
        "invoice": to_global_id("Invoice", sub.id or 0),
    }
    before = await table_counts(db)

    data = await api.data(RESYNC, {"id": ids[target], "reason": reason}, token=admin)

    assert data["subscriptionResync"]["code"] == code
    assert await table_counts(db) == before
    row = await db.get(Subscription, sub.id, populate_existing=True)
    assert row is not None and row.sync_status is SyncStatus.SYNCED
