"""Stripe test clocks where the app's test clock runs (TEST_CLOCK=true, a test-mode key).

Each customer is created on a test clock of its own, frozen at the app clock's now, so its
subscriptions and invoices live at the app's time. One clock per customer, not a pool of
Stripe's three customers per clock: the app's test clock keeps flowing between advances
while a Stripe clock stands still, so only a new clock puts a new customer at the app's
now; and nothing has to count the customers on a shared clock. The cost is Stripe's 100
clocks per account: at most 100 customers under the test clock (create_account is then
refused by Stripe).

The app's clocks are the account's clocks named `NAME_PREFIX` + the account's
idempotency key, so a retried create_account finds the clock its first attempt made (the
clock's create carries no key of its own: its frozen_time is the app's now at each attempt)
and clocks other tools made in the same account are never moved.

`advance(to)`, after the app's clock moved, brings every app clock behind `to` there: one
list (one page: at most 100 clocks), one advance per clock (`read_concurrency` at a time),
then a list per polling round
until each is `ready` again (Stripe advances asynchronously, `advancing` -> `ready`), for
at most `clock_ready_seconds`: at most 1 + N + ceil(wait / poll) requests for N clocks.
Its answer names the clocks that did not get there (refused, failed in Stripe:
`internal_failure`, or still advancing when the wait ended); a clock behind is advanced
again by the next call. Stripe allows at most two intervals of a clock's shortest
subscription per advance (two years without one): a longer move is refused for that clock.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from contextlib import suppress
from datetime import datetime
from functools import partial
from typing import Any

from app.providers.billing.records import ClocksAdvanced
from app.providers.billing.stripe.client import StripeApi
from app.providers.errors import ProviderError, ProviderNotFound

NAME_PREFIX = "fulfillment "
MAX_NAME = 300  # Stripe's limit on a clock's name


def name_for(key: str) -> str:
    return f"{NAME_PREFIX}{key}"[:MAX_NAME]


async def clock_for(api: StripeApi, key: str, now: datetime) -> str:
    """The id of the clock of the account created with `key`: the one a first attempt made,
    else a new one frozen at `now`."""
    name = name_for(key)
    for found in await ours(api):
        if found.get("name") == name and found.get("status") == "ready":
            return str(found["id"])
    created = await api.call(
        lambda: api.client.v1.test_helpers.test_clocks.create_async(
            {"frozen_time": int(now.timestamp()), "name": name}
        )
    )
    return str(created.id)


async def delete(api: StripeApi, ref: str) -> None:
    """Delete a clock and what is on it (an account refused at attach leaves nothing)."""
    with suppress(ProviderNotFound):
        await api.call(lambda: api.client.v1.test_helpers.test_clocks.delete_async(ref))


async def ours(api: StripeApi) -> list[dict[str, Any]]:
    """The app's clocks (Stripe keeps at most 100 per account: one page)."""
    listed = await api.call(
        lambda: api.client.v1.test_helpers.test_clocks.list_async({"limit": 100})
    )
    found = [dict(clock) for clock in listed.to_dict().get("data", [])]
    return [clock for clock in found if str(clock.get("name") or "").startswith(NAME_PREFIX)]


async def advance(api: StripeApi, to: datetime) -> ClocksAdvanced:
    target = int(to.timestamp())
    clocks = await ours(api)
    behind = [clock for clock in clocks if int(clock["frozen_time"]) < target]
    gate = asyncio.Semaphore(api.settings.read_concurrency)

    async def start(ref: str) -> bool:
        move = partial(
            api.client.v1.test_helpers.test_clocks.advance_async, ref, {"frozen_time": target}
        )
        async with gate:
            try:
                await api.call(move)
            except ProviderError:
                return False
            return True

    refs = [str(clock["id"]) for clock in behind]
    started = await asyncio.gather(*(start(ref) for ref in refs))
    moving = [ref for ref, ok in zip(refs, started, strict=True) if ok]
    refused = [ref for ref, ok in zip(refs, started, strict=True) if not ok]
    waited = await _wait_ready(api, moving, target)
    return ClocksAdvanced(
        to=to,
        advanced=tuple(ref for ref in moving if ref not in waited),
        behind=tuple(sorted([*refused, *waited])),
    )


async def _wait_ready(api: StripeApi, refs: Sequence[str], target: int) -> list[str]:
    """Poll (one list per round) until each clock is `ready` at `target`; those that are not
    when the wait ends (or that failed)."""
    pending, failed = set(refs), set()
    settings = api.settings
    deadline = time.monotonic() + settings.clock_ready_seconds
    while pending:
        await asyncio.sleep(settings.clock_poll_seconds)
        for clock in await ours(api):
            ref, status = str(clock["id"]), clock.get("status")
            if ref in pending and status == "ready" and int(clock["frozen_time"]) >= target:
                pending.discard(ref)
            elif ref in pending and status == "internal_failure":
                pending.discard(ref)
                failed.add(ref)
        if time.monotonic() >= deadline:
            break
    return sorted(pending | failed)
