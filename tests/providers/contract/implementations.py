"""The implementations every provider contract runs against: one entry per implementation.

An entry names the implementation, starts it ready to use (an async context manager, so an
HTTP adapter can run its fake vendor server and close its session afterwards) and says what
the contract needs to know about it: refs it does not have, its test payment tokens, how to
count what it recorded, and fault controls when it has a transport that can fail. Adding an
implementation (Stripe, an HTTP target) is one entry in the lists at the bottom.

An entry's `start` yields a `Harness`: the provider; `count(kind)`, the records of a kind it
holds (billing: "account", "subscription", "invoice", "payment", "refund"; CRM: "account",
"contact", "opportunity"; provisioning: "deployment"), e.g. the objects in its fake's state;
and for an HTTP implementation its fake's `FaultControls` (tests/fakes/faults.py). Its
`unknown_refs` give a ref per kind the implementation does not have (billing: "account",
"subscription", "invoice", "payment"; CRM: "account"). The contract runs on the test's
database transaction and a FixedClock (NOW in tests/providers/conftest.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import SQLModel

from app.clock import FixedClock
from app.db.tables.local_providers import (
    CrmAccountRecord,
    CrmContactRecord,
    CrmOpportunityRecord,
    CrmSubscriptionRecord,
    LedgerAccount,
    LedgerInvoice,
    LedgerPayment,
    LedgerRefund,
    LedgerSubscription,
    ProvisionedEntitlement,
)
from app.observability.metrics import Metrics
from app.observability.providers import instrumented
from app.providers.billing import BillingProvider, LocalBillingProvider
from app.providers.billing.stripe import StripeBillingProvider, StripeSettings
from app.providers.billing.zuora import ZuoraBillingProvider, ZuoraSettings
from app.providers.crm import CrmProvider, LocalCrmProvider
from app.providers.crm.salesforce import SalesforceCrmProvider
from app.providers.provisioning import LocalProvisioningTarget, ProvisioningTarget
from app.providers.provisioning.http import HttpProvisioningTarget, HttpTargetSettings
from tests.fakes.faults import Fault, FaultControls, outage
from tests.fakes.provisioning import FakeReceiver
from tests.fakes.salesforce import running_fake as running_salesforce
from tests.fakes.salesforce import settings_for as salesforce_settings
from tests.fakes.stripe import TEST_KEY as STRIPE_TEST_KEY
from tests.fakes.stripe import running_fake
from tests.fakes.zuora import CLIENT_ID as ZUORA_CLIENT_ID
from tests.fakes.zuora import CLIENT_SECRET as ZUORA_CLIENT_SECRET
from tests.fakes.zuora import running_fake as running_zuora

P = TypeVar("P")
__all__ = [
    "BILLING",
    "CRM",
    "PROVISIONING",
    "Fault",
    "FaultControls",
    "Harness",
    "Subject",
    "outage",
]


@dataclass(frozen=True, slots=True)
class ContractDeps:
    """What a test hands an implementation to start: the test's transaction and clock."""

    session_factory: async_sessionmaker[AsyncSession]
    clock: FixedClock


Counter = Callable[[str], Awaitable[int]]


@dataclass(frozen=True, slots=True)
class Harness(Generic[P]):
    """A started implementation: the provider, a count of the records of a kind it holds
    ("account", "invoice", ...: what "nothing new recorded" is checked with), and its fault
    controls (None: an embedded implementation with no transport to fail)."""

    provider: P
    count: Counter
    faults: FaultControls | None = None


@dataclass(frozen=True, slots=True)
class PaymentTokens:
    """Test payment methods by behaviour. The defaults are Stripe's documented test payment
    methods, which the local billing provider accepts too."""

    succeeds: str = "pm_card_visa"
    succeeds_too: str = "pm_card_mastercard"
    declines_at_charge: str = "pm_card_chargeCustomerFail"  # attaches; the charge declines
    refused_on_account: str = "pm_card_chargeDeclined"  # its card check fails
    unknown: str = "pm_card_unknown"
    # The failure_code of a charge of `declines_at_charge`: Stripe reports the decline code
    # ("generic_decline") of its card error.
    declined_code: str = "card_declined"


@dataclass(frozen=True, slots=True)
class Implementation(Generic[P]):
    name: str
    start: Callable[[ContractDeps], AbstractAsyncContextManager[Harness[P]]]
    unknown_refs: Mapping[str, str] = field(default_factory=dict)
    tokens: PaymentTokens = PaymentTokens()
    test_id: str | None = None  # the pytest id, when not the name

    @property
    def id(self) -> str:
        return self.test_id or self.name

    def instrumented(self, kind: str) -> Implementation[P]:
        """The same implementation behind the registry's metrics proxy: the contract must
        hold through it unchanged (app.observability.providers)."""
        start = self.start

        @asynccontextmanager
        async def wrapped(deps: ContractDeps) -> AsyncIterator[Harness[P]]:
            async with start(deps) as harness:
                provider = instrumented(harness.provider, kind, self.name, Metrics())
                yield Harness(provider, harness.count, harness.faults)

        return Implementation(
            self.name, wrapped, self.unknown_refs, self.tokens, f"{self.name}-instrumented"
        )


@dataclass(frozen=True, slots=True)
class Subject(Generic[P]):
    """What a contract test gets: the implementation's entry and its started harness."""

    implementation: Implementation[P]
    harness: Harness[P]

    @property
    def provider(self) -> P:
        return self.harness.provider

    @property
    def name(self) -> str:
        return self.implementation.name

    @property
    def tokens(self) -> PaymentTokens:
        return self.implementation.tokens

    def unknown(self, kind: str) -> str:
        return self.implementation.unknown_refs[kind]

    async def count(self, kind: str) -> int:
        return await self.harness.count(kind)

    async def counts(self, *kinds: str) -> dict[str, int]:
        return {kind: await self.count(kind) for kind in kinds}

    def faults(self) -> FaultControls:
        """The fault controls, or skip: an embedded implementation has no transport."""
        if self.harness.faults is None:
            pytest.skip(f"{self.name}: embedded, no transport to fail")
        return self.harness.faults


# -- the local (embedded) implementations ----------------------------------------------------


def _row_counter(
    session_factory: async_sessionmaker[AsyncSession], tables: Mapping[str, type[SQLModel]]
) -> Counter:
    async def count(kind: str) -> int:
        async with session_factory() as session:
            query = select(func.count()).select_from(tables[kind])
            return int((await session.execute(query)).scalar_one())

    return count


@asynccontextmanager
async def _local_billing(deps: ContractDeps) -> AsyncIterator[Harness[BillingProvider]]:
    tables = {
        "account": LedgerAccount,
        "subscription": LedgerSubscription,
        "invoice": LedgerInvoice,
        "payment": LedgerPayment,
        "refund": LedgerRefund,
    }
    provider = LocalBillingProvider(deps.session_factory, deps.clock)
    yield Harness(provider, _row_counter(deps.session_factory, tables))
    await provider.aclose()


@asynccontextmanager
async def _local_crm(deps: ContractDeps) -> AsyncIterator[Harness[CrmProvider]]:
    tables = {
        "account": CrmAccountRecord,
        "contact": CrmContactRecord,
        "opportunity": CrmOpportunityRecord,
        "subscription": CrmSubscriptionRecord,
    }
    yield Harness(
        LocalCrmProvider(deps.session_factory), _row_counter(deps.session_factory, tables)
    )


@asynccontextmanager
async def _local_provisioning(deps: ContractDeps) -> AsyncIterator[Harness[ProvisioningTarget]]:
    tables = {"deployment": ProvisionedEntitlement}
    target = LocalProvisioningTarget(deps.session_factory, deps.clock)
    yield Harness(target, _row_counter(deps.session_factory, tables))
    await target.aclose()


# -- HTTP implementations against their fakes -------------------------------------------------

PROVISIONING_SECRET = "test-provisioning-signing-secret-0123456789"
HTTP_TIMEOUT_SECONDS = 0.5  # what a TIMEOUT fault outlasts


@asynccontextmanager
async def http_provisioning(deps: ContractDeps) -> AsyncIterator[Harness[ProvisioningTarget]]:
    """The HTTP target against a fake receiver; its count is of the deployments stored."""
    async with FakeReceiver(PROVISIONING_SECRET) as receiver:
        settings = HttpTargetSettings(receiver.url, PROVISIONING_SECRET, HTTP_TIMEOUT_SECONDS)
        target = HttpProvisioningTarget(settings)

        async def count(kind: str) -> int:
            assert kind == "deployment"
            return len(receiver.provisions)

        try:
            yield Harness(target, count, receiver)
        finally:
            await target.aclose()


# -- Stripe, over real HTTP to the fake Stripe API (tests/fakes/stripe) ------------------------

STRIPE_TIMEOUT_SECONDS = 0.5  # what a TIMEOUT fault outlasts (the fake hangs 1 s)

# Stripe counts: the fake's live objects of each kind ("payment": charges).
_STRIPE_OBJECTS = {
    "account": "customer",
    "subscription": "subscription",
    "invoice": "invoice",
    "payment": "charge",
    "refund": "refund",
}


@asynccontextmanager
async def stripe_billing(deps: ContractDeps) -> AsyncIterator[Harness[BillingProvider]]:
    """The Stripe provider against the fake Stripe API, on the test's clock."""
    async with running_fake() as fake:
        fake.store.clock = lambda: deps.clock.now().timestamp()
        settings = StripeSettings(
            api_key=STRIPE_TEST_KEY, api_base=fake.url, timeout_seconds=STRIPE_TIMEOUT_SECONDS
        )
        provider = StripeBillingProvider(settings, deps.clock)

        async def count(kind: str) -> int:
            return len(fake.objects(_STRIPE_OBJECTS[kind]))

        try:
            yield Harness(provider, count, fake.faults)
        finally:
            await provider.aclose()


# -- Salesforce, over real HTTP to the fake Salesforce API (tests/fakes/salesforce) -----------

# Salesforce counts: the fake org's records of each kind.
_SALESFORCE_OBJECTS = {
    "account": "Account",
    "contact": "Contact",
    "opportunity": "Opportunity",
    "subscription": "Subscription__c",
}


@asynccontextmanager
async def salesforce_crm(deps: ContractDeps) -> AsyncIterator[Harness[CrmProvider]]:
    """The Salesforce provider against the fake Salesforce API."""
    async with running_salesforce() as fake:
        provider = SalesforceCrmProvider(salesforce_settings(fake))

        async def count(kind: str) -> int:
            return len(fake.records(_SALESFORCE_OBJECTS[kind]))

        try:
            yield Harness(provider, count, fake)
        finally:
            await provider.aclose()


# -- Zuora, over real HTTP to the fake Zuora API (tests/fakes/zuora) ---------------------------

# The Zuora client does not retry (the outbox does): a whole second for each call, so a
# loaded machine's slow answer is not taken for a timeout; a TIMEOUT fault outlasts it.
ZUORA_TIMEOUT_SECONDS = 1.0
ZUORA_HANG_SECONDS = 2.0


@asynccontextmanager
async def zuora_billing(deps: ContractDeps) -> AsyncIterator[Harness[BillingProvider]]:
    """The Zuora provider against the fake Zuora API, on the test's clock."""
    async with running_zuora() as fake:
        fake.store.today = deps.clock.today
        fake.faults.hang_seconds = ZUORA_HANG_SECONDS
        settings = ZuoraSettings(
            client_id=ZUORA_CLIENT_ID,
            client_secret=ZUORA_CLIENT_SECRET,
            api_base=fake.url,
            timeout_seconds=ZUORA_TIMEOUT_SECONDS,
        )
        provider = ZuoraBillingProvider(settings, deps.clock)

        async def count(kind: str) -> int:
            return fake.count(kind)

        try:
            yield Harness(provider, count, fake.faults)
        finally:
            await provider.aclose()


ZUORA_BILLING_UNKNOWN = {
    "account": "A99999999",
    "subscription": "A-S99999999",
    "invoice": "INV99999999",
    "payment": "P-99999999",
}


STRIPE_BILLING_UNKNOWN = {
    "account": "cus_unknown",
    "subscription": "sub_unknown",
    "invoice": "in_unknown",
    "payment": "ch_unknown",
}


LOCAL_BILLING_UNKNOWN = {
    "account": "acct_999999",
    "subscription": "sub_999999",
    "invoice": "inv_999999",
    "payment": "pay_999999",
}

_LOCAL_BILLING = Implementation("local", _local_billing, LOCAL_BILLING_UNKNOWN)
_LOCAL_CRM = Implementation("local", _local_crm, {"account": "crm-unknown"})
_HTTP_PROVISIONING = Implementation("http", http_provisioning)

# The embedded ones and the HTTP target (its faults: the error paths) run once more behind
# the metrics proxy; Stripe's slow faults are not run twice.
BILLING: list[Implementation[BillingProvider]] = [
    _LOCAL_BILLING,
    _LOCAL_BILLING.instrumented("billing"),
    Implementation(
        "stripe",
        stripe_billing,
        STRIPE_BILLING_UNKNOWN,
        PaymentTokens(declined_code="generic_decline"),
    ),
    Implementation("zuora", zuora_billing, ZUORA_BILLING_UNKNOWN),
]
CRM: list[Implementation[CrmProvider]] = [
    _LOCAL_CRM,
    _LOCAL_CRM.instrumented("crm"),
    Implementation("salesforce", salesforce_crm, {"account": "crm-unknown"}),
]
PROVISIONING: list[Implementation[ProvisioningTarget]] = [
    Implementation("local", _local_provisioning),
    _HTTP_PROVISIONING,
    _HTTP_PROVISIONING.instrumented("provisioning"),
]
