"""Cloud licenses over the API (docs/domain.md 8): a self-managed instance activates its code for a
signed license key, then syncs its usage with that key; forged keys write nothing."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker
from sqlmodel import col

from app.cli import main as cli
from app.clock import FixedClock
from app.config import Settings
from app.db.engine import create_session_factory
from app.db.tables import AuditEvent, License, SeatUsage, Subscription
from app.domain.enums import DeploymentKind, MemberRole, SubscriptionStatus
from app.domain.licenses import ACTIVATION_CODE_ALPHABET, LicenseClaims
from app.main import create_app
from app.providers.registry import build_providers
from app.runtime import build_runtime
from app.services import license_keys
from app.services.license_keys import (
    LicenseSigner,
    development_key,
    load_public_key,
    verify_license_key,
)
from app.services.licenses import ensure_license
from resolvers.ids import to_global_id
from tests.api.orders_support import at, place, quote
from tests.support import factories as f
from tests.support.fresh_database import fresh_database
from tests.support.graphql import Api, user_token
from tests.support.snapshots import table_counts

LICENSE_FIELDS = """subscriptionNumber planCode seats trial termStart termEnd
  addOns { code quantity } instanceId issuedAt keyId activatedAt billableUsers
  maxHistoricalUsers lastSyncedAt"""

ACTIVATE = f"""mutation($code: String!, $instance: String!, $name: String) {{
  licenseActivate(activationCode: $code, instanceId: $instance, instanceName: $name) {{
    __typename
    ... on LicenseActivatePayload {{ licenseKey license {{ {LICENSE_FIELDS} }} }}
    ... on UserError {{ code message }} }} }}"""

SYNC = f"""mutation($key: String!, $billable: Int!, $max: Int!, $metrics: [AddOnMetricInput!]) {{
  licenseSync(licenseKey: $key, billableUsers: $billable, maxHistoricalUsers: $max,
              addOnMetrics: $metrics) {{
    __typename
    ... on LicenseSyncPayload {{ licenseKey license {{ {LICENSE_FIELDS} }} }}
    ... on UserError {{ code message }} }} }}"""


@pytest.fixture
def session_factory(connection: AsyncConnection) -> async_sessionmaker[AsyncSession]:
    """As tests/conftest.py's, but without autoflush, like the app's own sessions."""
    return async_sessionmaker(
        bind=connection,
        expire_on_commit=False,
        autoflush=False,
        join_transaction_mode="create_savepoint",
    )


@pytest.fixture
async def acme(db: AsyncSession, settings: Settings) -> dict[str, Any]:
    customer = await f.customer(db, name="Acme")
    owner = await f.user(db, member_of=customer, role=MemberRole.OWNER)
    where = await f.deployment(
        db, customer, kind=DeploymentKind.SELF_MANAGED, external_id="gitlab.acme.test"
    )
    sub = await f.subscription(
        db, customer, deployment=where, seats=10, seats_in_use=8, max_seats_used=9
    )
    await f.add_on(db, sub, "duo_pro", quantity=5)
    license_ = await ensure_license(db, sub)
    assert license_ is not None
    return {
        "sub": sub,
        "license": license_,
        "code": license_.activation_code,
        "owner": user_token(settings, owner),
    }


def signer(settings: Settings) -> LicenseSigner:
    return license_keys.signer(settings)


async def activate(
    api: Api, code: str, instance: str = "instance-1", name: str | None = None
) -> dict[str, Any]:
    data = await api.data(ACTIVATE, {"code": code, "instance": instance, "name": name})
    result: dict[str, Any] = data["licenseActivate"]
    return result


async def sync(
    api: Api, key: str, billable: int, most: int, metrics: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    variables = {"key": key, "billable": billable, "max": most, "metrics": metrics}
    data = await api.data(SYNC, variables)
    result: dict[str, Any] = data["licenseSync"]
    return result


async def fresh(db: AsyncSession, row: Any) -> Any:
    await db.refresh(row)
    return row


async def audit_rows(db: AsyncSession, action: str) -> list[AuditEvent]:
    stmt = sa.select(AuditEvent).where(col(AuditEvent.action) == action)
    return list((await db.scalars(stmt.order_by(col(AuditEvent.id)))).all())


async def usage_rows(db: AsyncSession, deployment_id: int) -> list[SeatUsage]:
    stmt = (
        sa.select(SeatUsage)
        .where(col(SeatUsage.deployment_id) == deployment_id)
        .order_by(col(SeatUsage.reported_on))
        .execution_options(populate_existing=True)
    )
    return list((await db.scalars(stmt)).all())


def tampered(key: str, **changes: Any) -> str:
    """The key with its claims altered and the original signature kept."""
    payload, signature = key.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    altered = json.dumps(claims | changes, sort_keys=True, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(altered).rstrip(b"=").decode() + "." + signature


# Activation codes


async def test_every_self_managed_subscription_gets_one_code(
    acme: dict[str, Any], db: AsyncSession
) -> None:
    code = acme["code"]
    assert len(code) == 24 and set(code) <= set(ACTIVATION_CODE_ALPHABET)
    assert await ensure_license(db, acme["sub"]) is acme["license"]
    other = await f.subscription(
        db,
        await f.customer(db),
        deployment=await f.deployment(db, await f.customer(db), kind=DeploymentKind.SELF_MANAGED),
    )
    second = await ensure_license(db, other)
    assert second is not None and second.activation_code != code
    count = sa.select(sa.func.count()).select_from(License)
    assert (await db.execute(count)).scalar_one() == 2


async def test_saas_subscriptions_get_no_code(db: AsyncSession) -> None:
    sub = await f.subscription(db, await f.customer(db))
    assert await ensure_license(db, sub) is None
    assert (await db.execute(sa.select(sa.func.count()).select_from(License))).scalar_one() == 0


# licenseActivate


async def test_activation_returns_a_key_that_verifies_with_the_public_key(
    acme: dict[str, Any],
    api: Api,
    db: AsyncSession,
    settings: Settings,
    clock: FixedClock,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sub = acme["sub"]
    result = await activate(api, acme["code"].lower(), "instance-1", "Acme GitLab")

    assert result["__typename"] == "LicenseActivatePayload"
    # The command reads the environment: give it the settings the app runs with.
    monkeypatch.setenv("JWT_SECRET", settings.jwt_secret)
    if settings.license_signing_key:
        monkeypatch.setenv("LICENSE_SIGNING_KEY", settings.license_signing_key)
    else:
        monkeypatch.delenv("LICENSE_SIGNING_KEY", raising=False)
    assert cli(["license-public-key"]) == 0
    published = capsys.readouterr().out
    assert published.startswith("-----BEGIN PUBLIC KEY-----")
    claims = verify_license_key(result["licenseKey"], load_public_key(published))
    assert claims == LicenseClaims(
        license_id=acme["license"].id,
        subscription_number=sub.number,
        plan_code="premium",
        seats=10,
        trial=False,
        term_start=date(2026, 1, 1),
        term_end=date(2027, 1, 1),
        add_ons={"duo_pro": 5},
        instance_id="instance-1",
        issued_at=clock.now(),
        key_id=signer(settings).key_id,
    )
    assert result["license"] == {
        "subscriptionNumber": sub.number,
        "planCode": "premium",
        "seats": 10,
        "trial": False,
        "termStart": "2026-01-01",
        "termEnd": "2027-01-01",
        "addOns": [{"code": "duo_pro", "quantity": 5}],
        "instanceId": "instance-1",
        "issuedAt": clock.now().isoformat(),
        "keyId": claims.key_id,
        "activatedAt": clock.now().isoformat(),
        "billableUsers": None,
        "maxHistoricalUsers": None,
        "lastSyncedAt": None,
    }
    row = await fresh(db, acme["license"])
    assert (row.instance_id, row.activated_at) == ("instance-1", clock.now())
    assert row.license_key == result["licenseKey"]
    (event,) = await audit_rows(db, "license.activated")
    assert (event.actor_kind, event.actor_id) == ("SERVICE", "instance:instance-1")
    assert event.after is not None and event.after["instance_name"] == "Acme GitLab"


async def test_activating_again_from_the_same_instance_returns_the_same_license(
    acme: dict[str, Any], api: Api, db: AsyncSession, clock: FixedClock
) -> None:
    first = await activate(api, acme["code"])
    clock.advance(timedelta(days=3))
    counts = await table_counts(db)

    again = await activate(api, acme["code"])

    assert again == first
    assert await table_counts(db) == counts
    assert len(await audit_rows(db, "license.activated")) == 1


async def test_activating_again_after_a_change_returns_the_current_license(
    acme: dict[str, Any], api: Api, db: AsyncSession, clock: FixedClock, settings: Settings
) -> None:
    first = await activate(api, acme["code"])
    sub = await fresh(db, acme["sub"])
    sub.seats = 12
    await db.flush()
    clock.advance(timedelta(hours=1))

    again = await activate(api, acme["code"])

    assert again["licenseKey"] != first["licenseKey"]
    claims = signer(settings).verify(again["licenseKey"])
    assert (claims.seats, claims.issued_at) == (12, clock.now())
    assert (await fresh(db, acme["license"])).license_key == again["licenseKey"]


async def test_a_code_activated_on_another_instance_is_refused(
    acme: dict[str, Any], api: Api, db: AsyncSession
) -> None:
    first = await activate(api, acme["code"], "instance-1")
    counts = await table_counts(db)

    refused = await activate(api, acme["code"], "instance-2")

    assert refused["__typename"] == "ValidationError"
    assert refused["code"] == "VALIDATION"
    assert "already activated on another instance" in refused["message"]
    assert await table_counts(db) == counts
    row = await fresh(db, acme["license"])
    assert (row.instance_id, row.license_key) == ("instance-1", first["licenseKey"])


async def test_unknown_ended_and_saas_codes_are_not_found_alike(
    acme: dict[str, Any], api: Api, db: AsyncSession
) -> None:
    customer = await f.customer(db)
    saas = await f.subscription(db, customer)
    db.add(License(subscription_id=saas.id or 0, activation_code="SAASCODEABCDEFGHJKLMNPQR"))
    ended_on = await f.deployment(db, customer, kind=DeploymentKind.SELF_MANAGED)
    ended = await f.subscription(
        db, customer, deployment=ended_on, status=SubscriptionStatus.EXPIRED
    )
    ended_license = await ensure_license(db, ended)
    assert ended_license is not None
    await db.flush()
    counts = await table_counts(db)

    answers = [
        await activate(api, code)
        for code in (
            "ABCDEFGHJKLMNPQRSTUVWXYZ",  # well-formed, unknown
            "not a code",
            "SAASCODEABCDEFGHJKLMNPQR",
            ended_license.activation_code,
        )
    ]

    assert {a["__typename"] for a in answers} == {"NotFoundError"}
    assert {a["code"] for a in answers} == {"NOT_FOUND"}
    assert len({a["message"] for a in answers}) == 1
    assert await table_counts(db) == counts


@pytest.mark.parametrize("instance", ["", "   ", "x" * 65])
async def test_a_bad_instance_id_is_refused(
    acme: dict[str, Any], api: Api, db: AsyncSession, instance: str
) -> None:
    counts = await table_counts(db)
    refused = await activate(api, acme["code"], instance)
    assert refused["code"] == "VALIDATION"
    assert await table_counts(db) == counts


# licenseSync


async def test_sync_records_usage_and_returns_the_current_license(
    acme: dict[str, Any], api: Api, db: AsyncSession, clock: FixedClock, settings: Settings
) -> None:
    key = (await activate(api, acme["code"]))["licenseKey"]
    clock.advance(timedelta(hours=2))

    synced = await sync(api, key, 12, 14, [{"code": "duo_pro", "assignedSeats": 3}])

    assert synced["__typename"] == "LicenseSyncPayload"
    license_ = synced["license"]
    assert (license_["billableUsers"], license_["maxHistoricalUsers"]) == (12, 14)
    assert license_["lastSyncedAt"] == clock.now().isoformat()
    assert license_["issuedAt"] == clock.now().isoformat()
    claims = signer(settings).verify(synced["licenseKey"])
    assert (claims.seats, claims.add_ons, claims.issued_at) == (10, {"duo_pro": 5}, clock.now())
    sub = await fresh(db, acme["sub"])
    assert (sub.seats_in_use, sub.max_seats_used) == (12, 14)  # the instance's term maximum
    row = await fresh(db, acme["license"])
    assert (row.billable_users, row.max_historical_users) == (12, 14)
    assert (row.last_synced_at, row.license_key) == (clock.now(), synced["licenseKey"])
    [usage] = await usage_rows(db, sub.deployment_id)
    assert (usage.reported_on, usage.billable_users) == (clock.today(), 12)
    (event,) = await audit_rows(db, "license.synced")
    assert (event.actor_kind, event.actor_id, event.target_type) == (
        "SERVICE",
        "instance:instance-1",
        "License",
    )
    assert event.after is not None
    assert event.after["add_on_metrics"] == [{"code": "duo_pro", "assigned_seats": 3}]
    assert event.before is not None and event.before["seats_in_use"] == 8


async def test_a_day_reported_twice_counts_once(
    acme: dict[str, Any], api: Api, db: AsyncSession, clock: FixedClock
) -> None:
    key = (await activate(api, acme["code"]))["licenseKey"]
    deployment_id = acme["sub"].deployment_id

    await sync(api, key, 12, 12)
    clock.advance(timedelta(hours=3))
    await sync(api, key, 11, 12)

    [usage] = await usage_rows(db, deployment_id)
    assert (usage.reported_on, usage.billable_users) == (clock.today(), 11)
    sub = await fresh(db, acme["sub"])
    assert (sub.seats_in_use, sub.max_seats_used) == (11, 12)  # the maximum never falls

    clock.advance(timedelta(days=1))
    await sync(api, key, 13, 13)
    rows = await usage_rows(db, deployment_id)
    assert [(r.reported_on, r.billable_users) for r in rows] == [
        (clock.today() - timedelta(days=1), 11),
        (clock.today(), 13),
    ]
    assert len(await audit_rows(db, "license.synced")) == 3


async def test_sync_after_an_order_returns_the_new_seats(
    acme: dict[str, Any], api: Api, db: AsyncSession, clock: FixedClock, settings: Settings
) -> None:
    clock.set(at(date(2026, 7, 2)))
    old_key = (await activate(api, acme["code"]))["licenseKey"]
    subscription_id = to_global_id("Subscription", acme["sub"].id or 0)
    q = await quote(
        api, acme["owner"], subscriptionId=subscription_id, actions=[{"addSeats": {"seats": 5}}]
    )
    placed = await place(api, acme["owner"], q["token"])
    assert placed["order"]["subscription"]["seats"] == 15

    synced = await sync(api, old_key, 9, 9)

    assert synced["license"]["seats"] == 15
    assert signer(settings).verify(synced["licenseKey"]).seats == 15


async def test_sync_with_more_add_ons_returns_them(
    acme: dict[str, Any], api: Api, db: AsyncSession, settings: Settings
) -> None:
    key = (await activate(api, acme["code"]))["licenseKey"]
    await f.add_on(db, acme["sub"], "duo_pro", quantity=2)
    await f.add_on(db, acme["sub"], "duo_enterprise", quantity=1)

    synced = await sync(api, key, 3, 3)

    assert synced["license"]["addOns"] == [
        {"code": "duo_enterprise", "quantity": 1},
        {"code": "duo_pro", "quantity": 7},
    ]
    assert signer(settings).verify(synced["licenseKey"]).add_ons == {
        "duo_enterprise": 1,
        "duo_pro": 7,
    }


def _other_key_forgeries(key: str, settings: Settings) -> list[str]:
    claims = signer(settings).verify(key)
    stranger = LicenseSigner(Ed25519PrivateKey.generate())
    own_key_id = stranger.sign(
        LicenseClaims(**{**_fields(claims), "key_id": stranger.key_id, "seats": 999})
    )
    # Signed by a stranger but naming our key id: the signature gives it away.
    payload = base64.urlsafe_b64encode(claims.to_bytes()).rstrip(b"=").decode()
    signature = stranger.private_key.sign(payload.encode())
    named_ours = payload + "." + base64.urlsafe_b64encode(signature).rstrip(b"=").decode()
    return [own_key_id, named_ours]


def _fields(claims: LicenseClaims) -> dict[str, Any]:
    return {name: getattr(claims, name) for name in LicenseClaims.__dataclass_fields__}


async def test_forged_or_tampered_keys_are_refused_and_write_nothing(
    acme: dict[str, Any], api: Api, db: AsyncSession, settings: Settings
) -> None:
    key = (await activate(api, acme["code"]))["licenseKey"]
    payload, signature = key.split(".")
    flipped = bytearray(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    flipped[flipped.index(b'"seats":10') + 9] = ord("9")  # seats 10 -> 19
    flipped_key = base64.urlsafe_b64encode(bytes(flipped)).rstrip(b"=").decode() + "." + signature
    forgeries = [
        flipped_key,
        tampered(key, seats=500),
        tampered(key, license_id=acme["license"].id + 1),
        tampered(key, instance_id="instance-2"),
        *_other_key_forgeries(key, settings),
        key[:-4] + ("AAAA" if not key.endswith("AAAA") else "BBBB"),
        "not-a-license-key",
        "",
    ]
    counts = await table_counts(db)

    answers = [await sync(api, forged, 20, 20) for forged in forgeries]

    for answer in answers:
        assert (answer["__typename"], answer["code"]) == ("ValidationError", "VALIDATION")
        assert "invalid license key" in answer["message"].lower()
    assert await table_counts(db) == counts
    sub = await fresh(db, acme["sub"])
    assert (sub.seats_in_use, sub.max_seats_used) == (8, 9)
    row = await fresh(db, acme["license"])
    assert (row.billable_users, row.last_synced_at, row.license_key) == (None, None, key)


@pytest.mark.parametrize(
    ("billable", "most", "metrics"),
    [(-1, 5, None), (5, -1, None), (5, 5, [{"code": "duo_pro", "assignedSeats": -2}])],
)
async def test_negative_numbers_are_refused_and_write_nothing(
    acme: dict[str, Any],
    api: Api,
    db: AsyncSession,
    billable: int,
    most: int,
    metrics: list[dict[str, Any]] | None,
) -> None:
    key = (await activate(api, acme["code"]))["licenseKey"]
    counts = await table_counts(db)

    refused = await sync(api, key, billable, most, metrics)

    assert (refused["__typename"], refused["code"]) == ("ValidationError", "VALIDATION")
    assert await table_counts(db) == counts
    assert (await fresh(db, acme["sub"])).seats_in_use == 8


async def test_sync_of_an_ended_subscription_is_refused(
    acme: dict[str, Any], api: Api, db: AsyncSession
) -> None:
    key = (await activate(api, acme["code"]))["licenseKey"]
    sub = await fresh(db, acme["sub"])
    sub.status = SubscriptionStatus.EXPIRED
    await db.flush()
    counts = await table_counts(db)

    refused = await sync(api, key, 3, 3)

    assert refused["code"] == "SUBSCRIPTION_NOT_ACTIVE"
    assert await table_counts(db) == counts


# Signing keys


def test_the_development_key_is_derived_from_the_jwt_secret() -> None:
    def development(secret: str) -> LicenseSigner:
        return signer(Settings(environment="test", jwt_secret=secret, license_signing_key=None))

    one = development("one-secret-of-at-least-32-characters")
    assert one.key_id == development("one-secret-of-at-least-32-characters").key_id
    assert one.key_id != development("another-secret-of-32-characters-x").key_id
    assert (
        one.key_id == LicenseSigner(development_key("one-secret-of-at-least-32-characters")).key_id
    )


def test_a_configured_key_signs(settings: Settings) -> None:
    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    one_line = pem.strip().replace("\n", "\\n")  # as an environment variable may hold it
    configured = signer(
        Settings(environment="production", jwt_secret="p" * 40, license_signing_key=one_line)
    )
    assert configured.key_id == LicenseSigner(private).key_id
    assert configured.key_id != signer(settings).key_id


def test_production_requires_a_signing_key() -> None:
    with pytest.raises(ValidationError, match="LICENSE_SIGNING_KEY"):
        Settings(environment="production", jwt_secret="p" * 40, license_signing_key=None)


def test_only_an_ed25519_key_is_accepted() -> None:
    other_kind = X25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    with pytest.raises(ValueError, match="Ed25519"):
        license_keys.load_private_key(other_kind.decode())


# Concurrency: real, separately committed transactions on a database of their own.


@pytest.fixture(scope="module")
async def fresh_engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    async with fresh_database(settings) as engine:
        yield engine


async def test_racing_instances_and_syncs_are_served_one_at_a_time(
    fresh_engine: AsyncEngine, settings: Settings
) -> None:
    sessions = create_session_factory(fresh_engine)
    async with sessions() as db, db.begin():
        customer = await f.customer(db)
        where = await f.deployment(db, customer, kind=DeploymentKind.SELF_MANAGED)
        sub = await f.subscription(db, customer, deployment=where, seats=50, max_seats_used=0)
        license_ = await ensure_license(db, sub)
        assert license_ is not None
    clock = FixedClock(datetime(2026, 7, 2, 12, tzinfo=UTC))
    runtime = build_runtime(
        settings,
        sessions=sessions,
        clock=clock,
        providers=build_providers(settings, sessions, clock),
    )
    transport = httpx.ASGITransport(app=create_app(runtime=runtime))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        api = Api(client)
        activations = await asyncio.gather(
            *(activate(api, license_.activation_code, f"instance-{n}") for n in range(10))
        )
        winners = [a for a in activations if a["__typename"] == "LicenseActivatePayload"]
        assert len(winners) == 1
        assert sorted(a.get("code", "") for a in activations) == [""] + ["VALIDATION"] * 9
        key = winners[0]["licenseKey"]

        syncs = await asyncio.gather(*(sync(api, key, n, n) for n in range(1, 21)))

    assert {s["__typename"] for s in syncs} == {"LicenseSyncPayload"}
    async with sessions() as db:
        [usage] = await usage_rows(db, sub.deployment_id)
        after = await db.get(Subscription, sub.id)
        assert after is not None
        assert after.max_seats_used == 20
        assert after.seats_in_use == usage.billable_users
        assert len(await audit_rows(db, "license.synced")) == 20
