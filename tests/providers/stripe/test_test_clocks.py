"""Stripe test clocks under the app's test clock, over real HTTP to the fake: a customer on a
clock of its own at the app's now, advanced to the app's instant in a bounded number of
requests, subscriptions ending or renewing (their anchor invoice voided) at their period
end, and a clock that does not get there reported by id. The fake's own limits too."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import aiohttp
import pytest

from app.clock import FixedClock
from app.providers.billing import LocalBillingProvider
from app.providers.billing.stripe import StripeBillingProvider
from app.providers.billing.stripe.mapping import timestamp
from app.providers.errors import ProviderRejected
from app.services.billing import clocks
from tests.fakes.stripe import TEST_KEY, StripeFake, running_fake
from tests.providers.factories import PREMIUM, new_account
from tests.providers.stripe.conftest import provider_for

WALL = datetime(2025, 6, 1, tzinfo=UTC)  # Stripe's own time: not the app's
TERM_START, TERM_END = date(2025, 2, 1), date(2026, 2, 1)  # ends 31 days after the app's now
CLOCKS = "/v1/test_helpers/test_clocks"


@pytest.fixture(scope="module")
async def module_fake() -> AsyncIterator[StripeFake]:
    async with running_fake() as fake:
        yield fake


@pytest.fixture
def fake(module_fake: StripeFake) -> StripeFake:
    module_fake.reset()
    module_fake.store.clock = WALL.timestamp
    return module_fake


@pytest.fixture
async def clocked(fake: StripeFake, clock: FixedClock) -> AsyncIterator[StripeBillingProvider]:
    provider = provider_for(fake, clock, test_clocks=True, clock_poll_seconds=0.01)
    yield provider
    await provider.aclose()


def _stamp(moment: datetime) -> int:
    return int(moment.timestamp())


def _clock_requests(fake: StripeFake) -> list[tuple[str, str]]:
    return [(e.method, e.path) for e in fake.log if e.path.startswith(CLOCKS)]


async def test_a_customer_is_created_on_a_clock_of_its_own_at_the_apps_now(
    clocked: StripeBillingProvider, fake: StripeFake, clock: FixedClock
) -> None:
    account = await clocked.create_account(new_account(), idempotency_key="acct-1")
    again = await clocked.create_account(new_account(), idempotency_key="acct-1")

    assert again == account
    (stored,) = fake.objects("customer")
    (found,) = fake.objects("test_helpers.test_clock")
    assert stored["test_clock"] == found["id"]
    assert stored["created"] == found["frozen_time"] == _stamp(clock.now())
    assert (found["name"], found["status"]) == ("fulfillment acct-1", "ready")
    assert fake.executed("POST", CLOCKS) == 1  # the replay found the first clock


async def test_a_refused_account_leaves_neither_customer_nor_clock(
    clocked: StripeBillingProvider, fake: StripeFake
) -> None:
    with pytest.raises(ProviderRejected) as refused:
        await clocked.create_account(
            new_account(payment_method="pm_card_chargeDeclined"), idempotency_key="acct-1"
        )

    assert refused.value.code == "card_declined"
    assert fake.executed("DELETE", f"{CLOCKS}/*") == 1
    assert fake.objects("customer") == fake.objects("test_helpers.test_clock") == []


async def test_a_subscription_on_a_clock_lives_at_its_time(
    clocked: StripeBillingProvider, fake: StripeFake, clock: FixedClock
) -> None:
    account = await clocked.create_account(new_account(), idempotency_key="acct-1")
    await clocked.create_subscription(
        account.ref, TERM_START, TERM_END, [PREMIUM], idempotency_key="sub-1"
    )

    (sub,) = fake.objects("subscription")
    assert sub["created"] == sub["start_date"] == _stamp(clock.now())
    assert sub["test_clock"] == fake.objects("customer")[0]["test_clock"]


async def _two_subscriptions(provider: StripeBillingProvider) -> tuple[str, str]:
    """One renewing, one cancelled at its period end; both end their term on TERM_END."""
    refs = []
    for n in (1, 2):
        account = await provider.create_account(new_account(), idempotency_key=f"acct-{n}")
        sub = await provider.create_subscription(
            account.ref, TERM_START, TERM_END, [PREMIUM], idempotency_key=f"sub-{n}"
        )
        refs.append(sub.ref)
    await provider.cancel_subscription(refs[1], idempotency_key="cancel-2")
    return refs[0], refs[1]


async def test_advancing_40_days_moves_every_clock_to_the_instant_past_the_term_end(
    clocked: StripeBillingProvider, fake: StripeFake, clock: FixedClock
) -> None:
    renewing, ending = await _two_subscriptions(clocked)
    clock.advance(timedelta(days=40))
    fake.log.clear()

    moved = await clocked.advance_test_clocks(clock.now())

    assert moved.behind == ()
    assert sorted(moved.advanced) == sorted(
        c["id"] for c in fake.objects("test_helpers.test_clock")
    )
    for found in fake.objects("test_helpers.test_clock"):
        assert (found["frozen_time"], found["status"]) == (_stamp(clock.now()), "ready")
    # One list, one advance per clock (at once), one list per polling round (one here).
    requests = _clock_requests(fake)
    assert (requests[0], requests[-1]) == (("GET", CLOCKS), ("GET", CLOCKS))
    assert sorted(requests[1:-1]) == sorted(
        ("POST", f"{CLOCKS}/{ref}/advance") for ref in moved.advanced
    )
    assert len(fake.log) == 4

    ended = fake.store.objects[ending]
    assert (ended["status"], ended["ended_at"]) == ("canceled", timestamp(TERM_END))
    renewed = fake.store.objects[renewing]
    (item,) = (fake.store.objects[ref] for ref in renewed["items"])
    assert (item["current_period_start"], item["current_period_end"]) == (
        timestamp(TERM_END),
        timestamp(date(2027, 2, 1)),
    )
    (anchor,) = (inv for inv in fake.objects("invoice") if inv["id"] == renewed["latest_invoice"])
    assert (anchor["status"], anchor["total"], anchor["created"]) == (
        "void",
        10 * 34_800,
        timestamp(TERM_END),
    )
    records = await clocked.get_subscriptions([renewing, ending])
    assert (records[renewing].auto_renew, records[ending].status) == (True, "CANCELLED")


async def test_a_clock_that_fails_or_is_refused_is_named_behind(
    clocked: StripeBillingProvider, fake: StripeFake, clock: FixedClock
) -> None:
    await _two_subscriptions(clocked)
    first, second = (c["id"] for c in fake.objects("test_helpers.test_clock"))
    fake.store.failing_clocks.add(first)
    clock.advance(timedelta(days=1))

    moved = await clocked.advance_test_clocks(clock.now())

    assert (moved.advanced, moved.behind) == ((second,), (first,))
    assert fake.store.objects[first]["status"] == "internal_failure"
    # Failed in Stripe: refused from then on, and still named.
    clock.advance(timedelta(days=1))
    assert (await clocked.advance_test_clocks(clock.now())).behind == (first,)
    # More than two intervals (years) of the shortest subscription: refused by Stripe.
    clock.advance(timedelta(days=2 * 366))
    again = await clocked.advance_test_clocks(clock.now())
    assert again.behind == tuple(sorted((first, second)))
    assert fake.store.objects[second]["frozen_time"] < _stamp(clock.now())


async def test_without_the_test_clock_nothing_is_on_a_clock_or_moved(
    fake: StripeFake, clock: FixedClock, billing: LocalBillingProvider
) -> None:
    provider = provider_for(fake, clock)
    try:
        await provider.create_account(new_account(), idempotency_key="acct-1")
        moved = await clocks.advance(provider, clock.now() + timedelta(days=1))
    finally:
        await provider.aclose()

    assert moved.advanced == moved.behind == ()
    assert fake.objects("customer")[0]["test_clock"] is None
    assert _clock_requests(fake) == []
    local = await clocks.advance(billing, clock.now())  # no test clocks of its own
    assert (local.advanced, local.behind) == ((), ())


async def test_an_unreachable_provider_is_reported_not_raised(
    fake: StripeFake, clock: FixedClock
) -> None:
    provider = provider_for(fake, clock, test_clocks=True, max_network_retries=0)
    fake.faults.fail(CLOCKS)
    try:
        moved = await clocks.advance(provider, clock.now() + timedelta(days=1))
    finally:
        await provider.aclose()

    assert moved.behind == (clocks.UNREACHABLE,)
    assert fake.log[-1].faulted


# -- the fake's limits, as Stripe's error bodies ------------------------------------------


async def _post(fake: StripeFake, path: str, data: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    headers = {"Authorization": f"Bearer {TEST_KEY}"}
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{fake.url}{path}", data=data, headers=headers) as response,
    ):
        return response.status, await response.json()


async def test_the_fake_enforces_the_customers_per_clock_and_forward_only(
    fake: StripeFake,
) -> None:
    status, found = await _post(fake, CLOCKS, {"frozen_time": "1767225600"})
    assert status == 200
    for _ in range(3):
        assert (await _post(fake, "/v1/customers", {"test_clock": found["id"]}))[0] == 200

    status, body = await _post(fake, "/v1/customers", {"test_clock": found["id"]})
    assert (status, body["error"]["type"], body["error"]["param"]) == (
        400,
        "invalid_request_error",
        "test_clock",
    )
    assert len(fake.objects("customer")) == 3

    status, body = await _post(fake, f"{CLOCKS}/{found['id']}/advance", {"frozen_time": "1"})
    assert (status, body["error"]["param"]) == (400, "frozen_time")
    status, body = await _post(fake, "/v1/customers", {"test_clock": "clock_nope"})
    assert (status, body["error"]["code"]) == (400, "resource_missing")


async def test_the_fake_allows_100_clocks_and_deletes_what_is_on_one(fake: StripeFake) -> None:
    for _ in range(100):
        assert (await _post(fake, CLOCKS, {"frozen_time": "1767225600"}))[0] == 200
    status, body = await _post(fake, CLOCKS, {"frozen_time": "1767225600"})
    assert (status, body["error"]["type"]) == (400, "invalid_request_error")

    ref = fake.objects("test_helpers.test_clock")[0]["id"]
    await _post(fake, "/v1/customers", {"test_clock": ref})
    async with (
        aiohttp.ClientSession() as session,
        session.delete(
            f"{fake.url}{CLOCKS}/{ref}", headers={"Authorization": f"Bearer {TEST_KEY}"}
        ) as response,
    ):
        assert (await response.json())["deleted"] is True
    assert fake.objects("customer") == []
    assert len(fake.objects("test_helpers.test_clock")) == 99
