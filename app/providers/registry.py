"""The one place that turns settings into provider implementations.

`build_providers` runs once, in the application's lifespan; `Providers.aclose` runs at
shutdown. Each kind has a table of factories keyed by the setting's value; adding an adapter
is one entry here. Given the runtime's metrics, each provider is put behind the one
instrumenting proxy (app.observability.providers), which its callers cannot tell apart.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol, TypeVar, runtime_checkable

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.clock import Clock
from app.config import Settings
from app.observability.metrics import Metrics
from app.observability.providers import instrumented, unwrapped
from app.providers.billing import BillingProvider, LocalBillingProvider
from app.providers.billing.stripe import StripeBillingProvider, StripeSettings
from app.providers.billing.zuora import ZuoraBillingProvider, ZuoraSettings
from app.providers.crm import CrmProvider, LocalCrmProvider
from app.providers.crm.salesforce import SalesforceCrmProvider, SalesforceSettings
from app.providers.mailer import LocalMailer, Mailer, SmtpMailer, SmtpSettings
from app.providers.provisioning import LocalProvisioningTarget, ProvisioningTarget
from app.providers.provisioning.http import HttpProvisioningTarget, HttpTargetSettings
from app.providers.tax import LocalTaxProvider, NoTaxProvider, TaxProvider
from app.providers.webhooks import WebhookSender

P = TypeVar("P")


@dataclass(frozen=True, slots=True)
class ProviderDeps:
    """What a provider factory may draw on."""

    settings: Settings
    session_factory: async_sessionmaker[AsyncSession]
    clock: Clock


Factory = Callable[[ProviderDeps], P]

BILLING_PROVIDERS: Mapping[str, Factory[BillingProvider]] = {
    "local": lambda deps: LocalBillingProvider(deps.session_factory, deps.clock),
    "stripe": lambda deps: StripeBillingProvider(_stripe_settings(deps.settings), deps.clock),
    "zuora": lambda deps: ZuoraBillingProvider(_zuora_settings(deps.settings), deps.clock),
}
CRM_PROVIDERS: Mapping[str, Factory[CrmProvider]] = {
    "local": lambda deps: LocalCrmProvider(deps.session_factory),
    "salesforce": lambda deps: SalesforceCrmProvider(_salesforce_settings(deps.settings)),
}
PROVISIONING_TARGETS: Mapping[str, Factory[ProvisioningTarget]] = {
    "local": lambda deps: LocalProvisioningTarget(deps.session_factory, deps.clock),
    "http": lambda deps: HttpProvisioningTarget(_http_target_settings(deps.settings)),
}

MAILERS: Mapping[str, Factory[Mailer]] = {
    "local": lambda deps: LocalMailer(deps.session_factory, deps.clock),
    "smtp": lambda deps: SmtpMailer(_smtp_settings(deps.settings)),
}

TAX_PROVIDERS: Mapping[str, Factory[TaxProvider]] = {
    "local": lambda deps: LocalTaxProvider(
        deps.settings.seller_country, deps.settings.us_state_tax_rates
    ),
    "none": lambda deps: NoTaxProvider(),
}


def _smtp_settings(settings: Settings) -> SmtpSettings:
    return SmtpSettings(
        host=settings.smtp_host,
        port=settings.smtp_port,
        sender=settings.mail_from,
        username=settings.smtp_username,
        password=settings.smtp_password,
        starttls=settings.smtp_starttls,
    )


def _http_target_settings(settings: Settings) -> HttpTargetSettings:
    url, secret = settings.provisioning_url, settings.provisioning_signing_secret
    if not url or not secret:  # Settings refuse this already; a copy may have skipped them
        raise ValueError("PROVISIONING_TARGET=http needs PROVISIONING_URL and a signing secret")
    return HttpTargetSettings(url, secret, settings.provisioning_timeout_seconds)


def _stripe_settings(settings: Settings) -> StripeSettings:
    assert settings.stripe_api_key  # Settings refuses BILLING_PROVIDER=stripe without one
    return StripeSettings(
        api_key=settings.stripe_api_key,
        api_base=settings.stripe_api_base,
        timeout_seconds=settings.stripe_timeout_seconds,
        max_network_retries=settings.stripe_max_network_retries,
        # Test mode only (Settings refuses a live key with TEST_CLOCK): customers on Stripe
        # test clocks that follow the app's (app/providers/billing/stripe/test_clocks.py).
        test_clocks=settings.test_clock,
        # The wait for Stripe's clocks after a testClockAdvance walk: within the request.
        clock_ready_seconds=min(
            settings.test_clock_budget_seconds, settings.request_timeout_seconds / 4
        ),
        clock_poll_seconds=settings.stripe_test_clock_poll_seconds,
    )


def _salesforce_settings(settings: Settings) -> SalesforceSettings:
    # Settings refuse CRM_PROVIDER=salesforce without these
    assert settings.salesforce_client_id and settings.salesforce_username
    assert settings.salesforce_private_key
    return SalesforceSettings(
        login_url=settings.salesforce_login_url,
        client_id=settings.salesforce_client_id,
        username=settings.salesforce_username,
        private_key=settings.salesforce_private_key,
        api_version=settings.salesforce_api_version,
        timeout_seconds=settings.salesforce_timeout_seconds,
    )


def _zuora_settings(settings: Settings) -> ZuoraSettings:
    client_id, secret = settings.zuora_client_id, settings.zuora_client_secret
    if not client_id or not secret:  # Settings refuses BILLING_PROVIDER=zuora without them
        raise ValueError("BILLING_PROVIDER=zuora needs ZUORA_CLIENT_ID and ZUORA_CLIENT_SECRET")
    return ZuoraSettings(
        client_id=client_id,
        client_secret=secret,
        api_base=settings.zuora_api_base,
        timeout_seconds=settings.zuora_timeout_seconds,
    )


def uses_app_database(provider: object) -> bool:
    """True for an embedded provider that keeps its data in the application's database: each
    of its calls takes a connection from the same pool as the request's own reads."""
    return bool(getattr(provider, "uses_app_database", False))


@runtime_checkable
class _Closeable(Protocol):
    async def aclose(self) -> None: ...


@dataclass
class Providers:
    billing: BillingProvider
    crm: CrmProvider
    provisioning: ProvisioningTarget
    mailer: Mailer
    # Tax on quotes and invoices (docs/tax.md); the rule table unless a test passes another.
    tax: TaxProvider = field(default_factory=LocalTaxProvider)
    # Integration events out to subscribers (app/services/integration_delivery.py).
    webhooks: WebhookSender = field(default_factory=WebhookSender)

    async def aclose(self) -> None:
        """Close what the implementations hold (HTTP sessions); each object once, all of them
        even if one fails."""
        errors: list[Exception] = []
        closed: set[int] = set()
        every = (self.billing, self.crm, self.provisioning, self.mailer, self.tax, self.webhooks)
        for wrapped in every:
            provider = unwrapped(wrapped)
            if id(provider) in closed or not isinstance(provider, _Closeable):
                continue
            closed.add(id(provider))
            try:
                await provider.aclose()
            except Exception as error:
                errors.append(error)
        if errors:
            raise ExceptionGroup("closing providers failed", errors)


def build_providers(
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    clock: Clock,
    metrics: Metrics | None = None,
) -> Providers:
    deps = ProviderDeps(settings=settings, session_factory=session_factory, clock=clock)

    def build(kind: str, setting: str, name: str, factories: Mapping[str, Factory[P]]) -> P:
        provider = _build(setting, name, factories, deps)
        return provider if metrics is None else instrumented(provider, kind, name, metrics)

    return Providers(
        billing=build("billing", "billing_provider", settings.billing_provider, BILLING_PROVIDERS),
        crm=build("crm", "crm_provider", settings.crm_provider, CRM_PROVIDERS),
        provisioning=build(
            "provisioning",
            "provisioning_target",
            settings.provisioning_target,
            PROVISIONING_TARGETS,
        ),
        mailer=build("mailer", "mailer", settings.mailer, MAILERS),
        tax=build("tax", "tax_provider", settings.tax_provider, TAX_PROVIDERS),
        webhooks=WebhookSender(
            settings.integration_timeout_seconds,
            allow_private=settings.integration_private_networks_allowed,
        ),
    )


def _build(setting: str, name: str, factories: Mapping[str, Factory[P]], deps: ProviderDeps) -> P:
    factory = factories.get(name)
    if factory is None:
        choices = ", ".join(sorted(factories))
        raise ValueError(f"unknown {setting} {name!r}; valid choices: {choices}")
    return factory(deps)
