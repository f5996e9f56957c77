"""A subscription created for a self-managed instance (by an order or a trial) comes with
its license's activation code; a SaaS namespace gets none."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.clock import FixedClock
from app.config import Settings
from app.domain.enums import MemberRole
from resolvers.ids import to_global_id
from tests.api.orders_support import at, place, quote
from tests.support import factories as f
from tests.support.graphql import Api, user_token

LICENSE = """query($n: String!) { subscription(number: $n) {
  license { activationCode activated } } }"""
TRIAL = """mutation($c: ID!, $d: DeploymentInput!) {
  trialStart(input: {customerId: $c, deployment: $d}) {
    __typename ... on TrialStartPayload { subscription { number license { activationCode } } }
    ... on UserError { code message } } }"""


@pytest.mark.parametrize(("kind", "licensed"), [("SELF_MANAGED", True), ("SAAS_NAMESPACE", False)])
async def test_an_order_creating_a_subscription_issues_a_code_for_an_instance(
    api: Api, db: AsyncSession, settings: Settings, clock: FixedClock, kind: str, licensed: bool
) -> None:
    await f.catalog(db)
    customer = await f.customer(db)
    await f.billing_account(db, customer)
    owner = user_token(settings, await f.user(db, member_of=customer, role=MemberRole.OWNER))
    clock.set(at(date(2026, 6, 1)))
    deployment = {"externalId": "7d2e0c4a-instance", "kind": kind}
    q = await quote(
        api,
        owner,
        customerId=to_global_id("Customer", customer.id or 0),
        actions=[{"createSubscription": {"plan": "premium", "seats": 5, "deployment": deployment}}],
    )

    assert q["__typename"] == "Quote", q
    number = (await place(api, owner, q["token"]))["order"]["subscription"]["number"]

    license_ = (await api.data(LICENSE, {"n": number}, token=owner))["subscription"]["license"]
    if licensed:
        assert len(license_["activationCode"]) == 24
        assert license_["activated"] is False
    else:
        assert license_ is None


async def test_a_trial_on_an_instance_gets_a_code(
    api: Api, db: AsyncSession, settings: Settings
) -> None:
    await f.catalog(db)
    customer = await f.customer(db)
    await f.billing_account(db, customer)
    owner = user_token(settings, await f.user(db, member_of=customer, role=MemberRole.OWNER))
    deployment = {"externalId": "1f0e2b3c-trial-instance", "kind": "SELF_MANAGED"}

    data = await api.data(
        TRIAL, {"c": to_global_id("Customer", customer.id or 0), "d": deployment}, token=owner
    )

    result = data["trialStart"]
    assert result["__typename"] == "TrialStartPayload", result
    assert len(result["subscription"]["license"]["activationCode"]) == 24
