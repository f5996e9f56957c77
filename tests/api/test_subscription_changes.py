"""trialStart, subscriptionSetAutoRenew and subscriptionCancelPendingChange over the API:
who may call them, the rules they apply, and that every refusal leaves the database as it
was (docs/domain.md 2 and 4)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel, col

from app.config import Settings
from app.db.tables import AuditEvent, Deployment, OutboxMessage, Subscription
from app.domain.enums import (
    Channel,
    CustomerKind,
    MemberRole,
    SubscriptionStatus,
    TokenKind,
)
from app.services import outbox
from resolvers.ids import to_global_id
from tests.support import factories as f
from tests.support.graphql import Api, api_token, error_codes, user_token
from tests.support.snapshots import table_counts

M = TypeVar("M", bound=SQLModel)

TODAY = date(2026, 6, 1)  # the `clock` fixture

TRIAL_START = """mutation($input: TrialStartInput!, $reason: String) {
  trialStart(input: $input, reason: $reason) {
    __typename
    ... on TrialStartPayload { subscription { id number status seats termStart termEnd
        autoRenew channel reconciliationMode seatsOwed plan { code }
        deployment { externalId trialUsed } } }
    ... on UserError { code message }
  }
}"""

SET_AUTO_RENEW = """mutation($id: ID!, $on: Boolean!, $reason: String) {
  subscriptionSetAutoRenew(id: $id, autoRenew: $on, reason: $reason) {
    __typename
    ... on SubscriptionSetAutoRenewPayload { subscription { number autoRenew cancelReason } }
    ... on UserError { code message }
  }
}"""

CANCEL_PENDING = """mutation($id: ID!) {
  subscriptionCancelPendingChange(id: $id) {
    __typename
    ... on SubscriptionCancelPendingChangePayload {
      subscription { number plan { code } pendingChange { plan { code } } } }
    ... on UserError { code message }
  }
}"""


@dataclass
class World:
    customer: f.Customer
    other: f.Customer
    managed: f.Customer
    partner: f.Partner
    owner: str
    billing_admin: str
    viewer: str
    other_owner: str
    managed_owner: str
    partner_token: str
    admin: str


@pytest.fixture
async def world(db: AsyncSession, settings: Settings) -> World:
    await f.catalog(db)
    customer, other = await f.customer(db, name="Alpha"), await f.customer(db, name="Beta")
    partner = await f.partner(db, name="Resell")
    managed = await f.customer(
        db, name="Gamma", kind=CustomerKind.PARTNER_MANAGED, managing_partner_id=partner.id
    )
    for c in (customer, other, managed):
        await f.billing_account(db, c)

    async def token(of: f.Customer, role: MemberRole = MemberRole.OWNER) -> str:
        return user_token(settings, await f.user(db, member_of=of, role=role))

    return World(
        customer=customer,
        other=other,
        managed=managed,
        partner=partner,
        owner=await token(customer),
        billing_admin=await token(customer, MemberRole.BILLING_ADMIN),
        viewer=await token(customer, MemberRole.VIEWER),
        other_owner=await token(other),
        managed_owner=await token(managed),
        partner_token=await api_token(db, TokenKind.PARTNER, partner_id=partner.id),
        admin=await api_token(db, TokenKind.ADMIN),
    )


def gid(type_name: str, row: Any) -> str:
    return to_global_id(type_name, row.id)


async def fresh(db: AsyncSession, model: type[M], pk: Any) -> M:
    """The row as committed by the API, not the copy this session loaded earlier."""
    found = await db.get(model, pk, populate_existing=True)
    assert found is not None
    return found


async def audits(db: AsyncSession, action: str) -> list[AuditEvent]:
    stmt = sa.select(AuditEvent).where(col(AuditEvent.action) == action)
    return list((await db.scalars(stmt.execution_options(populate_existing=True))).all())


async def outbox_topics(db: AsyncSession) -> list[tuple[str, dict[str, Any]]]:
    stmt = sa.select(OutboxMessage).order_by(col(OutboxMessage.id))
    return [(m.topic, m.payload) for m in (await db.scalars(stmt)).all()]


async def refused(
    api: Api, db: AsyncSession, query: str, variables: dict[str, Any], token: str | None
) -> str:
    """Call a mutation that must be refused: the typed error code, or the top-level one.
    Either way the database must be exactly as it was."""
    before = await table_counts(db)
    body = await api.query(query, variables, token=token)
    assert await table_counts(db) == before
    if "errors" in body:
        assert body["data"] is None  # the result is non-null, so the error nulls `data`
        codes = error_codes(body)
        assert len(codes) == 1
        return codes[0]
    (result,) = body["data"].values()
    assert not result["__typename"].endswith("Payload"), result
    code: str = result["code"]
    return code


def trial_input(customer: f.Customer, external_id: str = "ns-trial") -> dict[str, Any]:
    return {
        "input": {
            "customerId": gid("Customer", customer),
            "deployment": {"externalId": external_id, "name": "My group"},
        }
    }


# --- trialStart --------------------------------------------------------------------------


async def test_owner_starts_a_30_day_ultimate_trial_on_a_new_deployment(
    world: World, api: Api, db: AsyncSession
) -> None:
    data = await api.data(TRIAL_START, trial_input(world.customer), token=world.owner)

    result = data["trialStart"]
    assert result["__typename"] == "TrialStartPayload"
    sub = result["subscription"]
    assert {k: v for k, v in sub.items() if k not in ("id", "number")} == {
        "status": "TRIAL",
        "seats": 0,
        "termStart": "2026-06-01",
        "termEnd": "2026-07-01",
        "autoRenew": False,
        "channel": "WEB_DIRECT",
        "reconciliationMode": "QUARTERLY",
        "seatsOwed": 0,
        "plan": {"code": "ultimate"},
        "deployment": {"externalId": "ns-trial", "trialUsed": True},
    }
    assert sub["number"].startswith("A-S")
    deployment = (
        await db.scalars(sa.select(Deployment).where(col(Deployment.external_id) == "ns-trial"))
    ).one()
    assert deployment.customer_id == world.customer.id
    assert deployment.name == "My group"
    assert deployment.trial_started_on == TODAY
    row = (
        await db.scalars(sa.select(Subscription).where(col(Subscription.number) == sub["number"]))
    ).one()
    assert (row.term_end - row.term_start).days == 30
    assert row.billing_account_id is not None and row.partner_id is None
    (event,) = await audits(db, "trial.started")
    assert (event.target_type, event.target_id) == ("Subscription", str(row.id))
    assert event.after is not None and event.after["term_end"] == "2026-07-01"
    assert await outbox_topics(db) == [
        (
            outbox.PROVISION,
            {"subscription_id": row.id, "deployment_id": deployment.id, "reason": "trial.started"},
        )
    ]


async def test_admin_starts_a_trial_on_an_existing_deployment(
    world: World, api: Api, db: AsyncSession
) -> None:
    existing = await f.deployment(db, world.customer, external_id="ns-existing")

    given = {**trial_input(world.customer, "ns-existing"), "reason": "Sales-assisted trial"}
    data = await api.data(TRIAL_START, given, token=world.admin)

    assert data["trialStart"]["subscription"]["status"] == "TRIAL"
    assert (await fresh(db, Deployment, existing.id)).trial_started_on == TODAY


async def test_a_second_trial_on_the_same_deployment_is_refused(
    world: World, api: Api, db: AsyncSession
) -> None:
    first = await api.data(TRIAL_START, trial_input(world.customer), token=world.owner)
    assert first["trialStart"]["__typename"] == "TrialStartPayload"

    code = await refused(api, db, TRIAL_START, trial_input(world.customer), world.owner)

    assert code == "TRIAL_ALREADY_USED"


async def test_a_trial_is_once_per_deployment_ever_even_after_it_ended(
    world: World, api: Api, db: AsyncSession
) -> None:
    await f.deployment(db, world.customer, external_id="ns-old", trial_started_on=date(2025, 1, 1))

    given = {**trial_input(world.customer, "ns-old"), "reason": "Second chance"}
    code = await refused(api, db, TRIAL_START, given, world.admin)

    assert code == "TRIAL_ALREADY_USED"


async def test_a_trial_replaces_a_live_free_subscription(
    world: World, api: Api, db: AsyncSession
) -> None:
    where = await f.deployment(db, world.customer, external_id="ns-free")
    free = await f.subscription(db, world.customer, "free", deployment=where, seats=0)

    data = await api.data(TRIAL_START, trial_input(world.customer, "ns-free"), token=world.owner)

    assert data["trialStart"]["subscription"]["status"] == "TRIAL"
    ended = await fresh(db, Subscription, free.id)
    assert ended.status is SubscriptionStatus.EXPIRED
    assert ended.lock_version == 2
    (event,) = await audits(db, "trial.started")
    assert event.before == {"replaced_subscription_id": free.id}


async def test_a_trial_is_refused_where_a_paid_subscription_is_live(
    world: World, api: Api, db: AsyncSession
) -> None:
    where = await f.deployment(db, world.customer, external_id="ns-paid")
    await f.subscription(db, world.customer, "premium", deployment=where)

    code = await refused(api, db, TRIAL_START, trial_input(world.customer, "ns-paid"), world.owner)

    assert code == "VALIDATION"


async def test_a_deployment_of_another_customer_is_not_found(
    world: World, api: Api, db: AsyncSession
) -> None:
    await f.deployment(db, world.other, external_id="ns-beta")

    code = await refused(api, db, TRIAL_START, trial_input(world.customer, "ns-beta"), world.owner)

    assert code == "NOT_FOUND"


async def test_a_customer_without_a_billing_account_cannot_start_a_trial(
    api: Api, db: AsyncSession, settings: Settings
) -> None:
    await f.catalog(db)
    lonely = await f.customer(db)
    owner = user_token(settings, await f.user(db, member_of=lonely))

    code = await refused(api, db, TRIAL_START, trial_input(lonely), owner)

    assert code == "VALIDATION"


@pytest.mark.parametrize("who", ["viewer", "billing_admin", "partner_token"])
async def test_trial_by_anyone_but_the_owner_or_an_admin_is_forbidden(
    world: World, api: Api, db: AsyncSession, who: str
) -> None:
    code = await refused(api, db, TRIAL_START, trial_input(world.customer), getattr(world, who))

    assert code == "FORBIDDEN"


async def test_trial_for_a_customer_the_caller_cannot_see_is_not_found(
    world: World, api: Api, db: AsyncSession
) -> None:
    code = await refused(api, db, TRIAL_START, trial_input(world.customer), world.other_owner)

    assert code == "NOT_FOUND"


async def test_trial_without_signing_in_is_unauthenticated(
    world: World, api: Api, db: AsyncSession
) -> None:
    code = await refused(api, db, TRIAL_START, trial_input(world.customer), None)

    assert code == "UNAUTHENTICATED"


async def test_owner_of_a_partner_managed_customer_is_sent_to_the_partner(
    world: World, api: Api, db: AsyncSession
) -> None:
    code = await refused(api, db, TRIAL_START, trial_input(world.managed), world.managed_owner)

    assert code == "MANAGED_BY_PARTNER"


@pytest.mark.parametrize("external_id", ["", "   ", "x" * 65])
async def test_trial_needs_a_deployment_id_of_1_to_64_characters(
    world: World, api: Api, db: AsyncSession, external_id: str
) -> None:
    variables = trial_input(world.customer, external_id)

    assert await refused(api, db, TRIAL_START, variables, world.owner) == "VALIDATION"


# --- subscriptionSetAutoRenew --------------------------------------------------------------


def renew_vars(sub: Subscription, on: bool, reason: str | None = None) -> dict[str, Any]:
    return {"id": gid("Subscription", sub), "on": on, "reason": reason}


@pytest.mark.parametrize("reason", [None, "", "   "])
async def test_turning_auto_renew_off_needs_a_reason(
    world: World, api: Api, db: AsyncSession, reason: str | None
) -> None:
    sub = await f.subscription(db, world.customer)

    code = await refused(api, db, SET_AUTO_RENEW, renew_vars(sub, False, reason), world.owner)

    assert code == "VALIDATION"
    assert (await fresh(db, Subscription, sub.id)).auto_renew is True


async def test_a_reason_longer_than_500_characters_is_refused(
    world: World, api: Api, db: AsyncSession
) -> None:
    sub = await f.subscription(db, world.customer)

    code = await refused(api, db, SET_AUTO_RENEW, renew_vars(sub, False, "x" * 501), world.owner)

    assert code == "VALIDATION"


async def test_turning_auto_renew_off_with_a_reason_cancels_and_audits(
    world: World, api: Api, db: AsyncSession
) -> None:
    sub = await f.subscription(db, world.customer)

    data = await api.data(
        SET_AUTO_RENEW, renew_vars(sub, False, "  Too expensive  "), token=world.billing_admin
    )

    assert data["subscriptionSetAutoRenew"] == {
        "__typename": "SubscriptionSetAutoRenewPayload",
        "subscription": {
            "number": sub.number,
            "autoRenew": False,
            "cancelReason": "Too expensive",
        },
    }
    row = await fresh(db, Subscription, sub.id)
    assert (row.auto_renew, row.cancel_reason, row.lock_version) == (False, "Too expensive", 2)
    (event,) = await audits(db, "subscription.auto_renew_off")
    assert (event.target_type, event.target_id) == ("Subscription", str(sub.id))
    assert event.reason == "Too expensive"
    assert event.before == {"auto_renew": True, "cancel_reason": None}
    assert event.after == {"auto_renew": False, "cancel_reason": "Too expensive"}
    assert await outbox_topics(db) == [
        (outbox.BILLING_SYNC, {"subscription_id": sub.id, "auto_renew": False}),
        (outbox.CRM_SYNC, {"subscription_id": sub.id}),
    ]


async def test_turning_auto_renew_on_again_clears_the_reason(
    world: World, api: Api, db: AsyncSession
) -> None:
    sub = await f.subscription(db, world.customer)
    await api.data(SET_AUTO_RENEW, renew_vars(sub, False, "Budget cut"), token=world.owner)

    data = await api.data(SET_AUTO_RENEW, renew_vars(sub, True), token=world.owner)

    assert data["subscriptionSetAutoRenew"]["subscription"] == {
        "number": sub.number,
        "autoRenew": True,
        "cancelReason": None,
    }
    row = await fresh(db, Subscription, sub.id)
    assert (row.auto_renew, row.cancel_reason, row.lock_version) == (True, None, 3)
    (event,) = await audits(db, "subscription.auto_renew_on")
    assert event.before == {"auto_renew": False, "cancel_reason": "Budget cut"}
    assert event.after == {"auto_renew": True, "cancel_reason": None}
    pushes = [outbox.BILLING_SYNC, outbox.CRM_SYNC]
    assert [topic for topic, _ in await outbox_topics(db)] == pushes * 2


@pytest.mark.parametrize("on", [True, False])
async def test_setting_the_value_it_already_has_changes_nothing(
    world: World, api: Api, db: AsyncSession, on: bool
) -> None:
    sub = await f.subscription(
        db, world.customer, auto_renew=on, cancel_reason=None if on else "Moving to self-hosted"
    )
    before = await table_counts(db)

    data = await api.data(SET_AUTO_RENEW, renew_vars(sub, on, "Another reason"), token=world.owner)

    assert data["subscriptionSetAutoRenew"]["subscription"] == {
        "number": sub.number,
        "autoRenew": on,
        "cancelReason": None if on else "Moving to self-hosted",
    }
    assert await table_counts(db) == before
    row = await fresh(db, Subscription, sub.id)
    assert row.lock_version == 1


@pytest.mark.parametrize(
    "status", [SubscriptionStatus.TRIAL, SubscriptionStatus.GRACE, SubscriptionStatus.EXPIRED]
)
async def test_auto_renew_changes_only_on_an_active_subscription(
    world: World, api: Api, db: AsyncSession, status: SubscriptionStatus
) -> None:
    sub = await f.subscription(db, world.customer, status=status)

    code = await refused(api, db, SET_AUTO_RENEW, renew_vars(sub, False, "Bye"), world.owner)

    assert code == "SUBSCRIPTION_NOT_ACTIVE"


async def test_the_free_plan_has_no_renewal_to_cancel(
    world: World, api: Api, db: AsyncSession
) -> None:
    sub = await f.subscription(db, world.customer, "free", seats=0)

    code = await refused(api, db, SET_AUTO_RENEW, renew_vars(sub, False, "Bye"), world.owner)

    assert code == "PLAN_NOT_ELIGIBLE"


async def test_viewer_may_not_cancel(world: World, api: Api, db: AsyncSession) -> None:
    sub = await f.subscription(db, world.customer)

    code = await refused(api, db, SET_AUTO_RENEW, renew_vars(sub, False, "Bye"), world.viewer)

    assert code == "FORBIDDEN"


async def test_another_customers_subscription_is_not_found(
    world: World, api: Api, db: AsyncSession
) -> None:
    sub = await f.subscription(db, world.other)

    code = await refused(api, db, SET_AUTO_RENEW, renew_vars(sub, False, "Bye"), world.owner)

    assert code == "NOT_FOUND"


async def partner_sold(db: AsyncSession, world: World) -> Subscription:
    return await f.subscription(
        db,
        world.managed,
        account=await f.billing_account(db, world.partner),
        partner_id=world.partner.id,
        channel=Channel.PARTNER,
    )


async def test_a_customer_user_on_a_partner_sold_subscription_is_sent_to_the_partner(
    world: World, api: Api, db: AsyncSession
) -> None:
    sub = await partner_sold(db, world)

    code = await refused(
        api, db, SET_AUTO_RENEW, renew_vars(sub, False, "Bye"), world.managed_owner
    )

    assert code == "MANAGED_BY_PARTNER"


async def test_the_partner_that_sold_it_may_cancel(
    world: World, api: Api, db: AsyncSession
) -> None:
    sub = await partner_sold(db, world)

    data = await api.data(
        SET_AUTO_RENEW, renew_vars(sub, False, "Customer churned"), token=world.partner_token
    )

    assert data["subscriptionSetAutoRenew"]["subscription"]["autoRenew"] is False
    (event,) = await audits(db, "subscription.auto_renew_off")
    assert event.actor_kind == "PARTNER"


async def test_a_partner_cannot_touch_a_direct_subscription(
    world: World, api: Api, db: AsyncSession
) -> None:
    sub = await f.subscription(db, world.customer)

    code = await refused(
        api, db, SET_AUTO_RENEW, renew_vars(sub, False, "Bye"), world.partner_token
    )

    assert code == "NOT_FOUND"


async def test_a_malformed_id_is_not_found(world: World, api: Api, db: AsyncSession) -> None:
    variables = {"id": "not-an-id", "on": False, "reason": "Bye"}

    assert await refused(api, db, SET_AUTO_RENEW, variables, world.owner) == "NOT_FOUND"


# --- subscriptionCancelPendingChange -------------------------------------------------------


async def with_downgrade(db: AsyncSession, owner: f.Customer) -> Subscription:
    plans = await f.catalog(db)
    return await f.subscription(db, owner, "ultimate", pending_plan_id=plans["premium"].id)


async def test_cancelling_a_scheduled_downgrade(world: World, api: Api, db: AsyncSession) -> None:
    sub = await with_downgrade(db, world.customer)
    premium_id = sub.pending_plan_id

    data = await api.data(CANCEL_PENDING, {"id": gid("Subscription", sub)}, token=world.owner)

    assert data["subscriptionCancelPendingChange"] == {
        "__typename": "SubscriptionCancelPendingChangePayload",
        "subscription": {"number": sub.number, "plan": {"code": "ultimate"}, "pendingChange": None},
    }
    row = await fresh(db, Subscription, sub.id)
    assert (row.pending_plan_id, row.lock_version) == (None, 2)
    (event,) = await audits(db, "subscription.pending_change_cancelled")
    assert event.before == {"pending_plan_id": premium_id}
    assert event.after == {"pending_plan_id": None}


async def test_cancelling_when_nothing_is_pending_is_refused(
    world: World, api: Api, db: AsyncSession
) -> None:
    sub = await f.subscription(db, world.customer)

    code = await refused(api, db, CANCEL_PENDING, {"id": gid("Subscription", sub)}, world.owner)

    assert code == "VALIDATION"


async def test_viewer_may_not_cancel_a_pending_change(
    world: World, api: Api, db: AsyncSession
) -> None:
    sub = await with_downgrade(db, world.customer)

    code = await refused(api, db, CANCEL_PENDING, {"id": gid("Subscription", sub)}, world.viewer)

    assert code == "FORBIDDEN"
    assert (await fresh(db, Subscription, sub.id)).pending_plan_id is not None
