"""Staff tools over the API (docs/staff-tools.md): comp seats, trial and grace extensions, a
moved term end, a retried provisioning push, a reissued license, an offline license file,
and a read-only view of a customer. Each is for admins with a reason, writes one audit row,
refuses bad input with a typed error and changes nothing then, and makes its provisioning
push once, through the outbox."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.clock import FixedClock
from app.config import Settings
from app.db.repositories import lifecycle
from app.db.tables import (
    ApiToken,
    AuditEvent,
    ConsumablePurchase,
    License,
    Notification,
    OutboxMessage,
    Reconciliation,
    Subscription,
)
from app.domain.enums import (
    ConsumableKind,
    DeploymentKind,
    MemberRole,
    NotificationKind,
    ProvisioningStatus,
    SubscriptionStatus,
    TokenKind,
)
from app.domain.licenses import InvalidLicenseKey
from app.domain.reconciliation import ReconciliationStatus
from app.providers.provisioning import Entitlement, ProvisioningResult, ProvisioningTarget
from app.runtime import Runtime
from app.services import license_keys, outbox
from app.services.licenses import ensure_license
from app.services.worker.options import WorkerOptions
from app.services.worker.outbox import OutboxJob
from resolvers.ids import to_global_id
from tests.support import factories as f
from tests.support.graphql import Api, api_token, error_codes, user_token
from tests.support.snapshots import table_counts

REASON = "Ticket 7: agreed with the account manager"
OPTIONS = WorkerOptions(jitter=0, worker_id="staff-tools")
SUBSCRIPTION = """subscription { seats compSeats seatsOwed seatsRemaining termEnd status
  graceExtendedUntil provisioningStatus }"""
ERROR = "... on UserError { code message }"

COMP = f"""mutation($id: ID!, $n: Int!, $reason: String!) {{
  subscriptionCompSeatsSet(id: $id, compSeats: $n, reason: $reason) {{ __typename {ERROR}
    ... on SubscriptionCompSeatsSetPayload {{ {SUBSCRIPTION} }} }} }}"""
EXTEND = f"""mutation($id: ID!, $kind: ExtensionKind!, $days: Int!, $reason: String!) {{
  subscriptionExtend(id: $id, kind: $kind, days: $days, reason: $reason) {{ __typename {ERROR}
    ... on SubscriptionExtendPayload {{ {SUBSCRIPTION} }} }} }}"""
TERM_END = f"""mutation($id: ID!, $end: Date!, $reason: String!) {{
  subscriptionTermEndChange(id: $id, termEnd: $end, reason: $reason) {{ __typename {ERROR}
    ... on SubscriptionTermEndChangePayload {{ {SUBSCRIPTION} }} }} }}"""
RETRY = f"""mutation($id: ID!, $reason: String!) {{
  subscriptionProvisioningRetry(id: $id, reason: $reason) {{ __typename {ERROR}
    ... on SubscriptionProvisioningRetryPayload {{ {SUBSCRIPTION} }} }} }}"""
REISSUE = f"""mutation($id: ID!, $reason: String!) {{
  licenseReissue(subscriptionId: $id, reason: $reason) {{ __typename {ERROR}
    ... on LicenseReissuePayload {{ license {{ activated activationCode }} }} }} }}"""
RESEND = f"""mutation($id: ID!, $reason: String!) {{
  licenseResend(subscriptionId: $id, reason: $reason) {{ __typename {ERROR}
    ... on LicenseResendPayload {{ recipients }} }} }}"""
OFFLINE = f"""mutation($id: ID!, $reason: String) {{
  licenseOfflineFileCreate(subscriptionId: $id, reason: $reason) {{ __typename {ERROR}
    ... on LicenseOfflineFilePayload {{ fileName content seats termEnd instanceId keyId }}
  }} }}"""
VIEW = f"""mutation($id: ID!, $reason: String!) {{
  customerReadOnlyViewStart(customerId: $id, reason: $reason) {{ __typename {ERROR}
    ... on CustomerReadOnlyViewStartPayload {{ token expiresAt customer {{ name }} }} }} }}"""
ACTIVATE = f"""mutation($code: String!) {{
  licenseActivate(activationCode: $code, instanceId: "inst-1") {{ __typename {ERROR}
    ... on LicenseActivatePayload {{ licenseKey }} }} }}"""
SYNC = f"""mutation($key: String!) {{
  licenseSync(licenseKey: $key, billableUsers: 3, maxHistoricalUsers: 3) {{ __typename {ERROR}
    ... on LicenseSyncPayload {{ licenseKey }} }} }}"""
AUTO_RENEW_OFF = f"""mutation($id: ID!) {{
  subscriptionSetAutoRenew(id: $id, autoRenew: false, reason: "Budget") {{ __typename {ERROR}
  }} }}"""


class CountingTarget:
    """The local provisioning target, counting the pushes it is asked for."""

    def __init__(self, inner: ProvisioningTarget, failures: int = 0) -> None:
        self.inner, self.failures = inner, failures
        self.pushed: list[Entitlement] = []

    async def push(self, entitlement: Entitlement, *, idempotency_key: str) -> ProvisioningResult:
        self.pushed.append(entitlement)
        if self.failures:
            from app.providers.errors import ProviderRejected

            self.failures -= 1
            raise ProviderRejected("test", "bad_entitlement", "refused for good")
        return await self.inner.push(entitlement, idempotency_key=idempotency_key)

    async def get(self, deployment_refs: Sequence[str]) -> Mapping[str, Entitlement]:
        return await self.inner.get(deployment_refs)


@pytest.fixture
async def admin(db: AsyncSession) -> str:
    return await api_token(db, TokenKind.ADMIN)


@pytest.fixture
def target(runtime: Runtime) -> CountingTarget:
    counting = CountingTarget(runtime.providers.provisioning)
    runtime.providers.provisioning = counting
    return counting


def gid(row: Any) -> str:
    return to_global_id(type(row).__name__, row.id)


async def call(api: Api, document: str, token: str, **variables: Any) -> dict[str, Any]:
    data = await api.data(document, variables, token=token)
    (found,) = data.values()
    assert isinstance(found, dict)
    return found


async def audits(db: AsyncSession, action: str) -> list[AuditEvent]:
    stmt = sa.select(AuditEvent).where(col(AuditEvent.action) == action)
    return list((await db.scalars(stmt.execution_options(populate_existing=True))).all())


async def messages(db: AsyncSession, topic: str) -> list[OutboxMessage]:
    stmt = sa.select(OutboxMessage).where(col(OutboxMessage.topic) == topic)
    return list((await db.scalars(stmt.execution_options(populate_existing=True))).all())


async def fresh(db: AsyncSession, row: Any) -> Any:
    await db.refresh(row)
    return row


def state(row: Subscription) -> tuple[Any, ...]:
    return (
        row.seats,
        row.comp_seats,
        row.term_end,
        row.status,
        row.grace_extended_until,
        row.provisioning_status,
        row.lock_version,
    )


async def refused(
    api: Api,
    db: AsyncSession,
    sub: Subscription,
    document: str,
    token: str,
    code: str,
    **variables: Any,
) -> str:
    """The call is refused with `code`, and no row changed or was added."""
    before, row_before = await table_counts(db), state(await fresh(db, sub))
    found = await call(api, document, token, **variables)
    assert found["code"] == code, found
    assert await table_counts(db) == before
    assert state(await fresh(db, sub)) == row_before
    return str(found["message"])


# --- comp seats --------------------------------------------------------------------------


async def test_comp_seats_are_free_provisioned_once_and_cover_usage(
    api: Api, db: AsyncSession, admin: str, runtime: Runtime, clock: FixedClock, target: Any
) -> None:
    sub = await f.subscription(db, await f.customer(db), seats=10, seats_in_use=12)
    sub.max_seats_used = 12
    await db.flush()

    found = await call(api, COMP, admin, id=gid(sub), n=3, reason=REASON)

    assert found["subscription"] == {
        "seats": 10,
        "compSeats": 3,
        "seatsOwed": 0,
        "seatsRemaining": 1,
        "termEnd": "2027-01-01",
        "status": "ACTIVE",
        "graceExtendedUntil": None,
        "provisioningStatus": "PENDING",
    }
    (event,) = await audits(db, "subscription.comp_seats_set")
    assert (event.actor_kind, event.reason) == ("ADMIN", REASON)
    assert (event.before, event.after) == (
        {"comp_seats": 0, "seats": 10},
        {"comp_seats": 3, "seats": 10},
    )
    assert len(await messages(db, outbox.PROVISION)) == 1
    assert await messages(db, outbox.BILLING_SYNC) == []  # no money: the provider is not told

    assert await OutboxJob(OPTIONS).run(runtime, clock.now()) == 1
    assert [pushed.seats for pushed in target.pushed] == [13]
    assert (await fresh(db, sub)).provisioning_status is ProvisioningStatus.PROVISIONED

    again = await call(api, COMP, admin, id=gid(sub), n=3, reason=REASON)  # the same count
    assert again["subscription"]["compSeats"] == 3
    assert len(await audits(db, "subscription.comp_seats_set")) == 1
    assert len(await messages(db, outbox.PROVISION)) == 1


@pytest.mark.parametrize(
    ("overrides", "seats", "code"),
    [
        ({}, 11, "VALIDATION"),  # more than the paid seats
        ({}, -1, "VALIDATION"),
        ({"status": SubscriptionStatus.GRACE}, 2, "SUBSCRIPTION_NOT_ACTIVE"),
        ({"status": SubscriptionStatus.TRIAL}, 2, "SUBSCRIPTION_NOT_ACTIVE"),
    ],
)
async def test_comp_seats_refused_change_nothing(
    api: Api, db: AsyncSession, admin: str, overrides: dict[str, Any], seats: int, code: str
) -> None:
    sub = await f.subscription(db, await f.customer(db), **overrides)
    await refused(api, db, sub, COMP, admin, code, id=gid(sub), n=seats, reason=REASON)


async def test_comp_seats_on_free_plan_and_unknown_ids(
    api: Api, db: AsyncSession, admin: str
) -> None:
    sub = await f.subscription(db, await f.customer(db), "free", seats=0)
    await refused(api, db, sub, COMP, admin, "PLAN_NOT_ELIGIBLE", id=gid(sub), n=0, reason=REASON)
    unknown = to_global_id("Subscription", 999_999)
    await refused(api, db, sub, COMP, admin, "NOT_FOUND", id=unknown, n=1, reason=REASON)


@pytest.mark.parametrize("reason", ["", "   "])
async def test_every_staff_tool_needs_a_reason(
    api: Api, db: AsyncSession, admin: str, reason: str
) -> None:
    customer = await f.customer(db)
    sub = await f.subscription(db, customer, provisioning_status=ProvisioningStatus.FAILED)
    calls = [
        (COMP, {"id": gid(sub), "n": 1}),
        (EXTEND, {"id": gid(sub), "kind": "GRACE", "days": 3}),
        (TERM_END, {"id": gid(sub), "end": "2027-02-01"}),
        (RETRY, {"id": gid(sub)}),
        (REISSUE, {"id": gid(sub)}),
        (RESEND, {"id": gid(sub)}),
        (OFFLINE, {"id": gid(sub)}),
        (VIEW, {"id": gid(customer)}),
    ]
    for document, variables in calls:
        message = await refused(
            api, db, sub, document, admin, "VALIDATION", **variables, reason=reason
        )
        assert "reason" in message


async def test_staff_tools_are_for_admins_only(
    api: Api, db: AsyncSession, settings: Settings
) -> None:
    customer = await f.customer(db)
    sub = await f.subscription(db, customer)
    owner = user_token(settings, await f.user(db, member_of=customer, role=MemberRole.OWNER))
    before = await table_counts(db)
    for document, variables in [
        (COMP, {"id": gid(sub), "n": 1}),
        (TERM_END, {"id": gid(sub), "end": "2027-02-01"}),
        (REISSUE, {"id": gid(sub)}),
        (VIEW, {"id": gid(customer)}),
    ]:
        body = await api.query(document, {**variables, "reason": REASON}, token=owner)
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN", body
    assert await table_counts(db) == before


# --- trial and grace extensions ----------------------------------------------------------


async def test_a_trial_is_extended_once_and_provisioned_once(
    api: Api, db: AsyncSession, admin: str, runtime: Runtime, clock: FixedClock, target: Any
) -> None:
    sub = await f.subscription(
        db,
        await f.customer(db),
        "ultimate",
        status=SubscriptionStatus.TRIAL,
        seats=0,
        term_start=date(2026, 5, 20),
        term_end=date(2026, 6, 19),
        auto_renew=False,
    )
    variables = {"id": gid(sub), "kind": "TRIAL", "reason": REASON}

    await refused(api, db, sub, EXTEND, admin, "VALIDATION", **variables, days=31)
    await refused(api, db, sub, EXTEND, admin, "VALIDATION", **variables, days=0)
    await refused(
        api,
        db,
        sub,
        EXTEND,
        admin,
        "SUBSCRIPTION_NOT_ACTIVE",
        **variables | {"kind": "GRACE"},
        days=5,
    )
    found = await call(api, EXTEND, admin, **variables, days=30)

    assert found["subscription"]["termEnd"] == "2026-07-19"
    assert found["subscription"]["status"] == "TRIAL"
    (event,) = await audits(db, "subscription.trial_extended")
    assert (event.before, event.after) == (
        {"ends_on": "2026-06-19"},
        {"ends_on": "2026-07-19", "days": 30},
    )
    message = await refused(
        api, db, sub, EXTEND, admin, "EXTENSION_ALREADY_USED", **variables, days=1
    )
    assert "one extension per term" in message
    assert await OutboxJob(OPTIONS).run(runtime, clock.now()) == 1
    assert [(p.plan_code, p.term_end) for p in target.pushed] == [("ultimate", date(2026, 7, 19))]


async def test_an_extended_grace_period_expires_on_its_new_day(
    api: Api, db: AsyncSession, admin: str, clock: FixedClock
) -> None:
    # Term ended 2026-05-25: grace runs to 2026-06-08 (the first day without service).
    sub = await f.subscription(
        db,
        await f.customer(db),
        status=SubscriptionStatus.GRACE,
        term_start=date(2025, 5, 25),
        term_end=date(2026, 5, 25),
        auto_renew=False,
    )
    variables = {"id": gid(sub), "kind": "GRACE", "reason": REASON}
    await refused(api, db, sub, EXTEND, admin, "VALIDATION", **variables, days=15)

    found = await call(api, EXTEND, admin, **variables, days=14)

    assert found["subscription"]["graceExtendedUntil"] == "2026-06-22"
    assert found["subscription"]["termEnd"] == "2026-05-25"
    assert len(await messages(db, outbox.PROVISION)) == 0  # the entitlement did not change
    now = clock.now()
    due = await lifecycle.due_expiries(db, date(2026, 6, 21), now, 10)
    assert sub.id not in [row.id for row in due]
    due = await lifecycle.due_expiries(db, date(2026, 6, 22), now, 10)
    assert sub.id in [row.id for row in due]
    await refused(api, db, sub, EXTEND, admin, "EXTENSION_ALREADY_USED", **variables, days=1)


async def test_an_unextended_grace_period_still_expires_after_14_days(
    db: AsyncSession, clock: FixedClock
) -> None:
    sub = await f.subscription(
        db,
        await f.customer(db),
        status=SubscriptionStatus.GRACE,
        term_start=date(2025, 5, 25),
        term_end=date(2026, 5, 25),
    )
    due = await lifecycle.due_expiries(db, date(2026, 6, 8), clock.now(), 10)
    assert sub.id in [row.id for row in due]


# --- term end ----------------------------------------------------------------------------


async def test_the_term_end_moves_with_its_packs_quarters_and_renewal(
    api: Api, db: AsyncSession, admin: str, runtime: Runtime, clock: FixedClock, target: Any
) -> None:
    plans = await f.catalog(db)
    sub = await f.subscription(db, await f.customer(db))
    pack = await f.add(
        db,
        ConsumablePurchase(
            subscription_id=sub.id or 0,
            product_id=plans["storage_10gib"].id or 0,
            kind=ConsumableKind.STORAGE,
            packs=1,
            units=10,
            amount=6_000,
            currency="USD",
            purchased_on=date(2026, 1, 1),
            expires_on=date(2027, 1, 1),
        ),
    )
    quarter = await f.add(
        db,
        Reconciliation(
            subscription_id=sub.id or 0,
            term_start=date(2026, 1, 1),
            quarter=3,
            quarter_start=date(2026, 7, 2),
            quarter_end=date(2026, 10, 1),
            invoice_on=date(2026, 10, 8),
            status=ReconciliationStatus.SCHEDULED,
        ),
    )
    for end, code in [
        ("2026-05-31", "VALIDATION"),  # before today (2026-06-01)
        ("2025-12-31", "VALIDATION"),
        ("2029-01-02", "VALIDATION"),  # a term over three years
        ("2027-01-01", "VALIDATION"),  # the current end
    ]:
        await refused(api, db, sub, TERM_END, admin, code, id=gid(sub), end=end, reason=REASON)

    found = await call(api, TERM_END, admin, id=gid(sub), end="2027-03-01", reason=REASON)

    assert found["subscription"]["termEnd"] == "2027-03-01"
    assert (await fresh(db, pack)).expires_on == date(2027, 3, 1)
    stmt = sa.select(Reconciliation).where(col(Reconciliation.id) == quarter.id)
    assert (await db.scalars(stmt)).first() is None  # rescheduled by the job for the new term
    (event,) = await audits(db, "subscription.term_end_changed")
    assert (event.before, event.after) == (
        {"term_end": "2027-01-01"},
        {"term_end": "2027-03-01", "storage_packs_moved": 1, "quarters_rescheduled": 1},
    )
    renewing = await lifecycle.due_term_ends(db, date(2027, 1, 1), clock.now(), 10)
    assert sub.id not in [row.id for row in renewing]
    assert await OutboxJob(OPTIONS).run(runtime, clock.now()) == 1
    assert [(p.term_end, p.storage_gib) for p in target.pushed] == [(date(2027, 3, 1), 10)]


async def test_a_term_the_provider_holds_or_partly_reconciled_does_not_move(
    api: Api, db: AsyncSession, admin: str
) -> None:
    held = await f.subscription(db, await f.customer(db), provider_ref="sub_remote_1")
    await refused(
        api,
        db,
        held,
        TERM_END,
        admin,
        "TERM_HELD_BY_PROVIDER",
        id=gid(held),
        end="2027-03-01",
        reason=REASON,
    )
    reconciled = await f.subscription(db, await f.customer(db))
    await f.add(
        db,
        Reconciliation(
            subscription_id=reconciled.id or 0,
            term_start=date(2026, 1, 1),
            quarter=1,
            quarter_start=date(2026, 1, 1),
            quarter_end=date(2026, 4, 2),
            invoice_on=date(2026, 4, 9),
            status=ReconciliationStatus.NOTHING_DUE,
        ),
    )
    await refused(
        api,
        db,
        reconciled,
        TERM_END,
        admin,
        "VALIDATION",
        id=gid(reconciled),
        end="2027-03-01",
        reason=REASON,
    )
    trial = await f.subscription(db, await f.customer(db), status=SubscriptionStatus.TRIAL)
    await refused(
        api,
        db,
        trial,
        TERM_END,
        admin,
        "SUBSCRIPTION_NOT_ACTIVE",
        id=gid(trial),
        end="2027-03-01",
        reason=REASON,
    )


# --- provisioning retry ------------------------------------------------------------------


async def test_a_failed_push_is_retried_once(
    api: Api, db: AsyncSession, admin: str, runtime: Runtime, clock: FixedClock, target: Any
) -> None:
    sub = await f.subscription(db, await f.customer(db))
    await outbox.enqueue(db, outbox.PROVISION, {"subscription_id": sub.id}, "o:1", now=clock.now())
    await db.flush()
    target.failures = 1  # rejected: failed for good at once
    assert await OutboxJob(OPTIONS).run(runtime, clock.now()) == 1
    assert (await fresh(db, sub)).provisioning_status is ProvisioningStatus.FAILED

    found = await call(api, RETRY, admin, id=gid(sub), reason=REASON)

    assert found["subscription"]["provisioningStatus"] == "PENDING"
    await refused(api, db, sub, RETRY, admin, "PROVISIONING_NOT_FAILED", id=gid(sub), reason=REASON)
    assert await OutboxJob(OPTIONS).run(runtime, clock.now()) == 1
    assert len(target.pushed) == 2  # the failed push, then the retry: once
    assert (await fresh(db, sub)).provisioning_status is ProvisioningStatus.PROVISIONED
    (event,) = await audits(db, "subscription.provisioning_retried")
    assert (event.before, event.after, event.reason) == (
        {"provisioning_status": "FAILED"},
        {"provisioning_status": "PENDING"},
        REASON,
    )
    await refused(api, db, sub, RETRY, admin, "PROVISIONING_NOT_FAILED", id=gid(sub), reason=REASON)


# --- licenses ----------------------------------------------------------------------------


@pytest.fixture
async def self_managed(db: AsyncSession) -> Subscription:
    customer = await f.customer(db)
    where = await f.deployment(
        db, customer, kind=DeploymentKind.SELF_MANAGED, external_id="4f1c-air-gapped"
    )
    sub = await f.subscription(db, customer, deployment=where, seats=10, comp_seats=2)
    await ensure_license(db, sub)
    return sub


async def test_a_reissued_license_revokes_the_old_code_and_key(
    api: Api, db: AsyncSession, admin: str, self_managed: Subscription
) -> None:
    (old,) = (
        await db.scalars(sa.select(License).where(col(License.subscription_id) == self_managed.id))
    ).all()
    activated = await call(api, ACTIVATE, "", code=old.activation_code)
    old_key = activated["licenseKey"]
    synced = await call(api, SYNC, "", key=old_key)
    assert synced["__typename"] == "LicenseSyncPayload"

    found = await call(api, REISSUE, admin, id=gid(self_managed), reason=REASON)

    new_code = found["license"]["activationCode"]
    assert found["license"]["activated"] is False and new_code != old.activation_code
    assert (await fresh(db, old)).revoked_at is not None
    before = await table_counts(db)
    assert (await call(api, SYNC, "", key=old_key))["code"] == "LICENSE_REVOKED"
    assert (await call(api, SYNC, "", key=synced["licenseKey"]))["code"] == "LICENSE_REVOKED"
    assert (await call(api, ACTIVATE, "", code=old.activation_code))["code"] == "NOT_FOUND"
    assert await table_counts(db) == before
    assert (await call(api, ACTIVATE, "", code=new_code))["__typename"] == "LicenseActivatePayload"
    (event,) = await audits(db, "license.reissued")
    assert event.before == {"license_id": old.id, "instance_id": "inst-1", "revoked": True}


async def test_a_license_is_resent_to_owners_and_billing_admins_once(
    api: Api, db: AsyncSession, admin: str, self_managed: Subscription
) -> None:
    customer = await db.get(f.Customer, self_managed.customer_id)
    assert customer is not None
    owner = await f.user(db, member_of=customer, role=MemberRole.OWNER)
    await f.user(db, member_of=customer, role=MemberRole.VIEWER)
    code = (await ensure_license(db, self_managed)).activation_code  # type: ignore[union-attr]

    found = await call(api, RESEND, admin, id=gid(self_managed), reason=REASON)

    assert found["recipients"] == 1
    stmt = sa.select(Notification).where(col(Notification.kind) == NotificationKind.LICENSE_SENT)
    (sent,) = (await db.scalars(stmt)).all()
    assert sent.user_id == owner.id and code in sent.body
    assert len(await messages(db, "notification.email")) == 1
    (event,) = await audits(db, "license.resent")
    assert (event.reason, event.after) == (
        REASON,
        {"subscription": self_managed.number, "recipients": 1},
    )


async def test_a_license_without_billing_contacts_is_not_resent(
    api: Api, db: AsyncSession, admin: str, self_managed: Subscription
) -> None:
    await refused(
        api, db, self_managed, RESEND, admin, "VALIDATION", id=gid(self_managed), reason=REASON
    )


async def test_a_saas_subscription_has_no_license_to_reissue(
    api: Api, db: AsyncSession, admin: str
) -> None:
    sub = await f.subscription(db, await f.customer(db))
    await refused(api, db, sub, REISSUE, admin, "VALIDATION", id=gid(sub), reason=REASON)
    await refused(api, db, sub, RESEND, admin, "VALIDATION", id=gid(sub), reason=REASON)
    await refused(api, db, sub, OFFLINE, admin, "VALIDATION", id=gid(sub), reason=REASON)


async def test_an_offline_license_file_verifies_with_the_public_key_alone(
    api: Api, db: AsyncSession, admin: str, settings: Settings, self_managed: Subscription
) -> None:
    found = await call(api, OFFLINE, admin, id=gid(self_managed), reason=REASON)

    assert found["fileName"] == f"{self_managed.number}-20260601.license"
    assert (found["seats"], found["termEnd"], found["instanceId"]) == (
        12,
        "2027-01-01",
        "4f1c-air-gapped",
    )
    public_key = license_keys.signer(settings).public_key
    claims = license_keys.verify_offline_license(found["content"], public_key)
    assert (claims.seats, claims.offline, claims.subscription_number) == (
        12,
        True,
        self_managed.number,
    )
    assert claims.key_id == found["keyId"]
    tampered = (
        found["content"]
        .replace("-----BEGIN OFFLINE LICENSE-----\n", "")
        .replace("-----END", "-----BEGIN OFFLINE LICENSE-----\n-----END")
    )
    with pytest.raises(InvalidLicenseKey):
        license_keys.verify_offline_license(tampered, public_key)
    lines = found["content"].splitlines()
    body = lines.index("-----BEGIN OFFLINE LICENSE-----") + 1
    lines[body] = lines[body][:-1] + ("A" if lines[body][-1] != "A" else "B")
    with pytest.raises(InvalidLicenseKey):
        license_keys.verify_offline_license("\n".join(lines), public_key)
    (event,) = await audits(db, "license.offline_file_issued")
    assert (event.reason, event.after["seats"]) == (REASON, 12)

    key = "".join(found["content"].split("-----BEGIN OFFLINE LICENSE-----")[1].split()[:-1])
    before = await table_counts(db)
    assert (await call(api, SYNC, "", key=key))["code"] == "VALIDATION"  # not for sync
    assert await table_counts(db) == before


async def test_owners_download_offline_files_and_billing_admins_do_not(
    api: Api, db: AsyncSession, settings: Settings, self_managed: Subscription
) -> None:
    customer = await db.get(f.Customer, self_managed.customer_id)
    assert customer is not None
    owner = await f.user(db, member_of=customer, role=MemberRole.OWNER)
    billing = await f.user(db, member_of=customer, role=MemberRole.BILLING_ADMIN)

    found = await call(api, OFFLINE, user_token(settings, owner), id=gid(self_managed))

    assert found["__typename"] == "LicenseOfflineFilePayload"
    (event,) = await audits(db, "license.offline_file_issued")
    assert (event.actor_kind, event.reason) == ("CUSTOMER_USER", None)
    before = await table_counts(db)
    body = await api.query(OFFLINE, {"id": gid(self_managed)}, token=user_token(settings, billing))
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert await table_counts(db) == before


# --- read-only view ----------------------------------------------------------------------


async def test_a_read_only_view_reads_as_the_owner_and_changes_nothing(
    api: Api, db: AsyncSession, admin: str
) -> None:
    customer = await f.customer(db, name="Viewed Co")
    sub = await f.subscription(db, customer)
    other = await f.subscription(db, await f.customer(db))

    started = await call(api, VIEW, admin, id=gid(customer), reason=REASON)

    assert started["customer"] == {"name": "Viewed Co"}
    token = started["token"]
    (event,) = await audits(db, "customer.staff_view_started")
    assert (event.target_type, event.target_id, event.reason) == (
        "Customer",
        str(customer.id),
        REASON,
    )
    data = await api.data(
        "query($id: ID!) { subscription(id: $id) { number } viewer { kind } }",
        {"id": gid(sub)},
        token=token,
    )
    assert data == {"subscription": {"number": sub.number}, "viewer": {"kind": "CUSTOMER_USER"}}
    hidden = await api.data(
        "query($id: ID!) { subscription(id: $id) { number } }", {"id": gid(other)}, token=token
    )
    assert hidden == {"subscription": None}  # only the viewed customer

    for document, variables in (
        (AUTO_RENEW_OFF, {"id": gid(sub)}),
        (COMP, {"id": gid(sub), "n": 1, "reason": REASON}),
    ):
        before, row_before = await table_counts(db), state(await fresh(db, sub))
        answer = await api.query(document, variables, token=token)
        assert error_codes(answer) == ["READ_ONLY_VIEW"], answer
        assert "read-only" in answer["errors"][0]["message"]
        assert await table_counts(db) == before
        assert state(await fresh(db, sub)) == row_before


async def test_a_read_only_view_ends_with_its_staff_token(
    api: Api, db: AsyncSession, admin: str
) -> None:
    customer = await f.customer(db)
    started = await call(api, VIEW, admin, id=gid(customer), reason=REASON)
    row = (await db.scalars(sa.select(ApiToken).where(col(ApiToken.kind) == TokenKind.ADMIN))).one()
    row.revoked_at = row.created_at
    await db.flush()

    response = await api.post("{ viewer { kind } }", token=started["token"])

    assert response.status_code == 401


async def test_a_read_only_view_of_an_unknown_customer_is_not_found(
    api: Api, db: AsyncSession, admin: str
) -> None:
    before = await table_counts(db)
    found = await call(api, VIEW, admin, id=to_global_id("Customer", 999_999), reason=REASON)
    assert found["code"] == "NOT_FOUND"
    assert await table_counts(db) == before
