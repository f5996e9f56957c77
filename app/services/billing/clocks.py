"""The billing provider's test clocks moved with the app's (app/services/test_clock.py).

A provider that keeps its objects on test clocks of its own (`ClockedBilling`: Stripe's,
under TEST_CLOCK=true with a test-mode key) is told the app's new time once per
testClockAdvance call, after the walk: every write of the walk's stops was made while the
provider's clocks stood at the call's start, and the advance then moves them (and what is
due on them, such as a subscription's period end) to where the app's clock stopped. Any
other provider (the local one, whose time is the app's clock) has nothing to move.

A provider that cannot be reached is reported, not raised: the app's clock has moved and
its jobs are committed; the clocks behind catch up at the next advance."""

from __future__ import annotations

from datetime import datetime

from app.providers.billing.protocol import ClockedBilling
from app.providers.billing.records import ClocksAdvanced
from app.providers.errors import ProviderError

UNREACHABLE = "unreachable"  # in `behind`: the provider could not be asked


async def advance(billing: object, to: datetime) -> ClocksAdvanced:
    if not isinstance(billing, ClockedBilling):
        return ClocksAdvanced(to=to)
    try:
        return await billing.advance_test_clocks(to)  # the one call site
    except ProviderError:
        return ClocksAdvanced(to=to, behind=(UNREACHABLE,))
