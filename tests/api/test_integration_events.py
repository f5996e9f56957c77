"""Integration events through the API: an admin registers a subscriber (its secret answered
once), an order placed by the customer is told to it signed (payment, then the order, exact
cents, public ids), the delivery log lists it, and a redelivery carries the same event id
and body. Refusals change nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.clock import FixedClock
from app.config import Settings
from app.db.tables import AuditEvent
from app.domain.enums import TokenKind
from app.runtime import Runtime
from app.services.worker.options import WorkerOptions
from app.services.worker.runner import Worker
from tests.api.orders_support import acme_world, at, place, quote
from tests.fakes.integration.receiver import FakeSubscriber
from tests.support.graphql import Api, api_token, error_codes
from tests.support.snapshots import table_counts

OPTIONS = WorkerOptions(jitter=0, worker_id="worker-a")
CREATE = """mutation($input: IntegrationSubscriberCreateInput!, $reason: String) {
  integrationSubscriberCreate(input: $input, reason: $reason) {
    __typename
    ... on IntegrationSubscriberCreatePayload { secret subscriber { id name url events active } }
    ... on UserError { code message } } }"""
LIST = "{ integrationSubscribers { nodes { id name url events active } } }"
DELIVERIES = """query($id: ID!) { integrationDeliveries(subscriberId: $id) { nodes {
  status attemptCount lastStatusCode deliveredAt
  event { id kind sequence subscriptionNumber payload }
  attempts { attempt statusCode delivered gaveUp durationMs } } } }"""
REDELIVER = """mutation($id: ID!, $reason: String) {
  integrationEventRedeliver(eventId: $id, reason: $reason) {
    __typename
    ... on IntegrationEventRedeliverPayload { queued event { id kind } }
    ... on UserError { code } } }"""
UPDATE = """mutation($id: ID!, $input: IntegrationSubscriberUpdateInput!, $reason: String) {
  integrationSubscriberUpdate(id: $id, input: $input, reason: $reason) {
    __typename
    ... on IntegrationSubscriberPayload { subscriber { id events active } }
    ... on UserError { code } } }"""
DEACTIVATE = """mutation($id: ID!, $reason: String) {
  integrationSubscriberDeactivate(id: $id, reason: $reason) {
    __typename
    ... on IntegrationSubscriberPayload { subscriber { active deactivatedReason } }
    ... on UserError { code } } }"""


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
async def admin(db: AsyncSession) -> str:
    return await api_token(db, TokenKind.ADMIN)


async def create(api: Api, admin: str, fake: FakeSubscriber, name: str) -> dict[str, Any]:
    variables = {"input": {"name": name, "url": fake.url(name)}, "reason": "new warehouse"}
    found: dict[str, Any] = (await api.data(CREATE, variables, token=admin))[
        "integrationSubscriberCreate"
    ]
    assert found["__typename"] == "IntegrationSubscriberCreatePayload", found
    fake.secrets[name] = found["secret"]
    return found


async def test_an_order_is_told_to_the_subscriber_signed_and_can_be_redelivered(
    api: Api,
    db: AsyncSession,
    settings: Settings,
    runtime: Runtime,
    clock: FixedClock,
    admin: str,
    fake: FakeSubscriber,
) -> None:
    acme = await acme_world(db, settings)
    created = await create(api, admin, fake, "dwh")
    subscriber = created["subscriber"]
    assert subscriber["id"].startswith("isub_") and subscriber["events"] == []
    assert created["secret"].startswith("whsec_")
    listed = (await api.data(LIST, token=admin))["integrationSubscribers"]["nodes"]
    assert listed == [subscriber]  # the secret is not there to read again
    [row] = await db.scalars(
        sa.select(AuditEvent).where(col(AuditEvent.action) == "integration_subscriber.created")
    )
    assert (row.target_id, row.reason) == (subscriber["id"], "new warehouse")
    assert created["secret"] not in str(row.after)

    clock.set(at(date(2026, 7, 2)))
    q = await quote(
        api, acme["owner"], subscriptionId=acme["id"], actions=[{"addSeats": {"seats": 5}}]
    )
    order = (await place(api, acme["owner"], q["token"]))["order"]
    await Worker(runtime, OPTIONS).run_once()

    assert fake.refused == []
    paid, completed = (each.body for each in fake.deliveries["dwh"])
    assert (paid["kind"], completed["kind"]) == ("payment.succeeded", "order.completed")
    assert (paid["sequence"], completed["sequence"]) == (1, 2)
    assert completed["data"]["order"]["id"] == order["id"]
    assert completed["data"]["order"]["total"] == {"amount": 87_238, "currency": "USD"}
    assert completed["data"]["order"]["actions"] == ["AddSeats"]
    assert completed["data"]["invoice"]["number"] == order["invoice"]["number"]
    assert completed["data"]["invoice"]["amountPaid"] == {"amount": 87_238, "currency": "USD"}
    assert completed["data"]["subscription"]["number"] == order["subscription"]["number"]
    assert completed["data"]["subscription"]["seats"] == 15
    assert paid["data"]["payment"]["amount"] == {"amount": 87_238, "currency": "USD"}

    log = (await api.data(DELIVERIES, {"id": subscriber["id"]}, token=admin))[
        "integrationDeliveries"
    ]["nodes"]
    assert [(each["event"]["kind"], each["status"]) for each in log] == [
        ("order.completed", "DELIVERED"),
        ("payment.succeeded", "DELIVERED"),
    ]
    assert log[0]["event"]["id"] == completed["id"]
    assert log[0]["event"]["payload"] == completed["data"]
    assert [(a["attempt"], a["statusCode"], a["delivered"]) for a in log[0]["attempts"]] == [
        (1, 200, True)
    ]

    answer = await api.data(REDELIVER, {"id": completed["id"], "reason": "replay"}, token=admin)
    assert answer["integrationEventRedeliver"]["queued"] == 1
    await Worker(runtime, OPTIONS).run_once()
    [again] = fake.duplicates["dwh"]
    assert again.event_id == completed["id"]
    assert again.raw == fake.deliveries["dwh"][1].raw  # the same body, signed anew


async def test_refusals_change_nothing(
    api: Api, db: AsyncSession, admin: str, fake: FakeSubscriber
) -> None:
    subscriber = (await create(api, admin, fake, "dwh"))["subscriber"]
    before = await table_counts(db)
    bad = [
        {"name": "x", "url": "ftp://dwh.example/h"},
        {"name": "x", "url": "https://me:pw@dwh.example/h"},
        {"name": " ", "url": "https://dwh.example/h"},
        {"name": "x", "url": "https://dwh.example/h", "events": ["order.placed"]},
    ]
    for given in bad:
        answer = await api.data(CREATE, {"input": given, "reason": "try"}, token=admin)
        assert answer["integrationSubscriberCreate"]["code"] == "VALIDATION", given
    no_reason = await api.data(CREATE, {"input": {"name": "x", "url": fake.url("x")}}, token=admin)
    assert no_reason["integrationSubscriberCreate"]["code"] == "VALIDATION"
    update = {"id": subscriber["id"], "input": {"events": ["nope"]}, "reason": "try"}
    assert (await api.data(UPDATE, update, token=admin))["integrationSubscriberUpdate"][
        "code"
    ] == "VALIDATION"
    missing = {"id": "isub_missing", "reason": "try"}
    assert (await api.data(DEACTIVATE, missing, token=admin))["integrationSubscriberDeactivate"][
        "code"
    ] == "NOT_FOUND"
    assert (await api.data(REDELIVER, {"id": "evt_missing", "reason": "try"}, token=admin))[
        "integrationEventRedeliver"
    ]["code"] == "NOT_FOUND"
    assert await table_counts(db) == before

    changed = await api.data(
        UPDATE,
        {"id": subscriber["id"], "input": {"events": ["order.completed"]}, "reason": "narrow"},
        token=admin,
    )
    assert changed["integrationSubscriberUpdate"]["subscriber"]["events"] == ["order.completed"]
    stopped = await api.data(DEACTIVATE, {"id": subscriber["id"], "reason": "done"}, token=admin)
    assert stopped["integrationSubscriberDeactivate"]["subscriber"] == {
        "active": False,
        "deactivatedReason": "admin",
    }
    actions = await db.scalars(
        sa.select(AuditEvent.action).where(col(AuditEvent.target_id) == subscriber["id"])
    )
    assert sorted(actions) == [
        "integration_subscriber.created",
        "integration_subscriber.deactivated",
        "integration_subscriber.updated",
    ]


async def test_non_admins_are_refused(api: Api, db: AsyncSession, settings: Settings) -> None:
    acme = await acme_world(db, settings)
    body = await api.query(LIST, token=acme["owner"])
    assert error_codes(body) == ["FORBIDDEN"]
    body = await api.query(LIST)
    assert error_codes(body) == ["UNAUTHENTICATED"]
