"""The registry's metrics proxy: callers cannot tell it from the provider (class, attributes,
Protocol checks, results, exceptions), and every vendor call is counted once, by method and
error class."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.clock import FixedClock
from app.config import Settings
from app.observability.metrics import Metrics
from app.observability.providers import InstrumentedProvider, instrumented, unwrapped
from app.providers import build_providers
from app.providers.billing import LocalBillingProvider
from app.providers.crm import LocalCrmProvider
from app.providers.errors import ProviderNotFound, ProviderUnavailable
from app.providers.registry import _Closeable, uses_app_database
from tests.providers.factories import new_account
from tests.support.metrics import parse

CALLS = "fulfillment_provider_calls_total"
ERRORS = "fulfillment_provider_errors_total"


class Flaky:
    """A provider whose call fails as told; `closed` counts aclose calls."""

    plain_attribute = "kept"

    def __init__(self) -> None:
        self.closed = 0
        self.fail: BaseException | None = None

    async def fetch(self, ref: str) -> str:
        if self.fail is not None:
            raise self.fail
        return f"got {ref}"

    def describe(self) -> str:  # not a coroutine: passed through uncounted
        return "flaky"

    async def aclose(self) -> None:
        self.closed += 1


def _value(metrics: Metrics, name: str, **labels: str) -> float:
    return parse(metrics.render().decode()).value(name, **labels)


async def test_the_registry_wraps_and_callers_cannot_tell(
    settings: Settings, session_factory: async_sessionmaker[AsyncSession], clock: FixedClock
) -> None:
    metrics = Metrics()
    providers = build_providers(settings, session_factory, clock, metrics)

    assert type(providers.billing) is InstrumentedProvider
    assert isinstance(providers.billing, LocalBillingProvider)
    assert isinstance(providers.crm, LocalCrmProvider)
    assert isinstance(providers.billing, _Closeable)  # the runtime Protocol check aclose uses
    assert uses_app_database(providers.crm) is True
    assert uses_app_database(providers.billing) is uses_app_database(unwrapped(providers.billing))
    account = await providers.billing.create_account(new_account(), idempotency_key="acct-1")
    assert (await providers.billing.get_accounts([account.ref]))[account.ref] == account
    await providers.aclose()

    local = {"kind": "billing", "implementation": "local"}
    assert _value(metrics, CALLS, **local, method="create_account", outcome="ok") == 1
    assert _value(metrics, CALLS, **local, method="get_accounts", outcome="ok") == 1
    assert "aclose" not in metrics.render().decode()


async def test_without_metrics_the_registry_builds_the_providers_bare(
    settings: Settings, session_factory: async_sessionmaker[AsyncSession], clock: FixedClock
) -> None:
    providers = build_providers(settings, session_factory, clock)
    assert type(providers.billing) is LocalBillingProvider
    await providers.aclose()


@pytest.mark.parametrize(
    ("failure", "label"),
    [
        (ProviderUnavailable("fake", "down"), "ProviderUnavailable"),
        (ProviderNotFound("fake", "no such ref"), "ProviderNotFound"),
        (KeyError("a bug"), "unexpected"),
        (asyncio.CancelledError(), "cancelled"),
    ],
)
async def test_a_failed_call_is_counted_by_its_error_class_and_raised_as_is(
    failure: BaseException, label: str
) -> None:
    metrics, target = Metrics(), Flaky()
    proxy = instrumented(target, "crm", "fake", metrics)
    target.fail = failure

    with pytest.raises(type(failure)) as caught:
        await proxy.fetch("r1")

    assert caught.value is failure
    labels = {"kind": "crm", "implementation": "fake", "method": "fetch"}
    assert _value(metrics, ERRORS, **labels, error=label) == 1
    assert _value(metrics, CALLS, **labels, outcome="error") == 1
    assert _value(metrics, CALLS, **labels, outcome="ok") == 0
    assert _value(metrics, "fulfillment_provider_call_duration_seconds_count", **labels) == 1


async def test_everything_else_passes_through() -> None:
    metrics, target = Metrics(), Flaky()
    proxy = instrumented(target, "crm", "fake", metrics)

    assert await proxy.fetch("r1") == "got r1"
    assert (proxy.describe(), proxy.plain_attribute) == ("flaky", "kept")
    proxy.plain_attribute = "changed"  # set on the provider itself
    assert target.plain_attribute == "changed"
    await proxy.aclose()
    assert target.closed == 1
    assert unwrapped(proxy) is target and unwrapped(target) is target
    assert repr(proxy) == f"<instrumented {target!r}>"
    labels = {"kind": "crm", "implementation": "fake", "method": "fetch"}
    assert _value(metrics, CALLS, **labels, outcome="ok") == 1
    assert "describe" not in metrics.render().decode()
