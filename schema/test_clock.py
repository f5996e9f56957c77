"""The test clock mutation (development and test servers started with TEST_CLOCK=true)."""

from __future__ import annotations

from datetime import datetime

import strawberry

from app.domain.errors import DomainError
from resolvers import test_clock as resolve
from schema import described
from schema.audit import Reason
from schema.errors import RuleViolation, ValidationError, result_union, user_error


@strawberry.type
class JobRun:
    name: str
    handled: int = strawberry.field(description="Items the job handled on the way.")


@strawberry.type
class TestClockAdvancePayload:
    previous: datetime
    now: datetime
    stops: int = strawberry.field(description="Midnights (and the target) the clock stopped at.")
    jobs: list[JobRun]
    reached_target: bool = strawberry.field(
        description="False when the call stopped at `now`, short of `to`, its time budget "
        "spent: what it applied is committed and audited; call again to go on. Also false "
        "when a test clock of the billing provider did not reach `now` "
        "(`billingClocksBehind`)."
    )
    billing_clocks_behind: list[str] = strawberry.field(
        description="The billing provider's test clocks (Stripe's, under the test clock with "
        "BILLING_PROVIDER=stripe) that did not reach `now`: refused, failed, or still "
        "advancing when the wait ended (`unreachable`: the provider could not be asked). "
        "The next advance moves them on. Empty with the local provider."
    )


TestClockAdvanceResult = result_union(
    "TestClockAdvanceResult", TestClockAdvancePayload, ValidationError, RuleViolation
)


@strawberry.type
class TestClockMutations:
    @described.mutation(
        description="Admins, outside production: move the clock forward to `to`, stopping at "
        "each UTC midnight to run what falls due (renewals, reconciliations, expiries, "
        "e-mails). A call stops early once its time budget is spent (`reachedTarget: false`)."
    )
    async def test_clock_advance(
        self, info: strawberry.Info, to: datetime, reason: Reason = None
    ) -> TestClockAdvanceResult:  # type: ignore[valid-type]
        found = await resolve.advance(info.context, to, reason)
        if isinstance(found, DomainError):
            return user_error(found)
        return TestClockAdvancePayload(
            previous=found.previous,
            now=found.now,
            stops=found.stops,
            jobs=[JobRun(name=name, handled=count) for name, count in found.handled.items()],
            reached_target=found.reached_target,
            billing_clocks_behind=list(found.billing_clocks_behind),
        )
