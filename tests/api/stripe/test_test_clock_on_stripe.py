"""The admin test clock with BILLING_PROVIDER=stripe (TEST_CLOCK=true, a test-mode key): the
customer an order creates in Stripe is on a Stripe test clock at the app's time, and
testClockAdvance moves that clock to the very instant the app's clock reached, in a bounded
number of requests, or says which clock did not get there."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.clock import FixedClock
from app.config import Settings
from app.domain.enums import MemberRole, TokenKind
from app.runtime import Runtime
from resolvers.ids import to_global_id
from tests.api.orders_support import place, quote
from tests.fakes.stripe import StripeFake
from tests.support import factories as f
from tests.support.graphql import Api, api_token, user_token

pytestmark = pytest.mark.parametrize("billing", ["stripe"])

WALL = datetime(2025, 3, 1, tzinfo=UTC)  # Stripe's own time: not the app's
CLOCKS = "/v1/test_helpers/test_clocks"
ADVANCE = """mutation($to: DateTime!) { testClockAdvance(to: $to, reason: "stripe clocks") {
  __typename ... on TestClockAdvancePayload { now reachedTarget billingClocksBehind }
  ... on UserError { code message } } }"""
STATE = """query($n: String!) { subscription(number: $n) { status termEnd autoRenew } }"""


@pytest.fixture
def app_settings(app_settings: Settings, stripe_fake: StripeFake) -> Iterator[Settings]:
    """TEST_CLOCK=true, with Stripe's wall time far from the app's."""
    stripe_fake.store.clock = WALL.timestamp
    yield app_settings.model_copy(
        update={"test_clock": True, "stripe_test_clock_poll_seconds": 0.01}
    )


async def _ordered(api: Api, db: AsyncSession, settings: Settings) -> tuple[str, str]:
    """A new Premium subscription bought by a new customer: its number and the admin token."""
    await f.catalog(db)
    customer = await f.customer(db, name="Clocked Co")
    owner = await f.user(db, member_of=customer, role=MemberRole.OWNER)
    await f.billing_account(db, customer, payment_method="pm_card_visa")
    admin = await api_token(db, TokenKind.ADMIN)
    token = user_token(settings, owner)
    action = {
        "createSubscription": {
            "plan": "premium",
            "seats": 5,
            "deployment": {"externalId": "ns-clock"},
        }
    }
    q = await quote(
        api, token, actions=[action], customerId=to_global_id("Customer", customer.id or 0)
    )
    placed = await place(api, token, q["token"], key=q["token"][-24:])
    assert placed["__typename"] == "OrderPlacePayload", placed
    return placed["order"]["subscription"]["number"], admin


def _clock_requests(fake: StripeFake, since: int) -> list[tuple[str, str]]:
    return [(e.method, e.path) for e in fake.log[since:] if e.path.startswith(CLOCKS)]


async def test_the_stripe_clock_follows_the_apps_to_the_instant(
    api: Api,
    db: AsyncSession,
    settings: Settings,
    clock: FixedClock,
    stripe_fake: StripeFake,
    runtime: Runtime,
) -> None:
    start = clock.now()
    number, admin = await _ordered(api, db, settings)

    (customer,) = stripe_fake.objects("customer")
    (found,) = stripe_fake.objects("test_helpers.test_clock")
    assert customer["test_clock"] == found["id"]
    assert customer["created"] == found["frozen_time"] == int(start.timestamp())

    to = start + timedelta(days=40)
    since = len(stripe_fake.log)
    data = await api.data(ADVANCE, {"to": to.isoformat()}, admin)

    assert data["testClockAdvance"] == {
        "__typename": "TestClockAdvancePayload",
        "now": to.isoformat(),
        "reachedTarget": True,
        "billingClocksBehind": [],
    }
    assert stripe_fake.store.objects[found["id"]]["frozen_time"] == int(to.timestamp())
    # One list, one advance per clock (one here), one list per polling round (one here).
    assert _clock_requests(stripe_fake, since) == [
        ("GET", CLOCKS),
        ("POST", f"{CLOCKS}/{found['id']}/advance"),
        ("GET", CLOCKS),
    ]
    # The sync during the walk made the subscription on the clock, at the walk's start;
    # 40 days pass no period end: Stripe's and the app's subscription agree.
    (sub,) = stripe_fake.objects("subscription")
    assert (sub["test_clock"], sub["created"]) == (found["id"], int(start.timestamp()))
    state = (await api.data(STATE, {"n": number}, admin))["subscription"]
    remote = (await runtime.providers.billing.get_subscriptions([sub["id"]]))[sub["id"]]
    assert (state["status"], state["autoRenew"], state["termEnd"]) == (
        "ACTIVE",
        remote.auto_renew,
        remote.term_end.isoformat(),
    )
    assert [inv["status"] for inv in stripe_fake.objects("invoice")] == ["paid"]


async def test_a_stripe_clock_that_fails_is_named_and_the_target_not_reached(
    api: Api, db: AsyncSession, settings: Settings, clock: FixedClock, stripe_fake: StripeFake
) -> None:
    _, admin = await _ordered(api, db, settings)
    (found,) = stripe_fake.objects("test_helpers.test_clock")
    stripe_fake.store.failing_clocks.add(found["id"])
    to = clock.now() + timedelta(days=2)

    data = await api.data(ADVANCE, {"to": to.isoformat()}, admin)

    assert data["testClockAdvance"] == {
        "__typename": "TestClockAdvancePayload",
        "now": to.isoformat(),  # the app's clock moved; Stripe's did not
        "reachedTarget": False,
        "billingClocksBehind": [found["id"]],
    }
    assert stripe_fake.store.objects[found["id"]]["status"] == "internal_failure"
