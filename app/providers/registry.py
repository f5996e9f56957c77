"""The one place that turns settings into provider implementations.

`build_providers` runs once, in the application's lifespan; `Providers.aclose` runs at
shutdown. Each kind has a table of factories keyed by the setting's value; adding an adapter
is one entry here. Given the runtime's metrics, each provider is put behind the one
instrumenting proxy (app.observability.providers), which its callers cannot tell apart.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol, TypeVar, runtime_checkable

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.clock import Clock
from app.config import Settings
from app.observability.metrics import Metrics
from app.observability.providers import instrumented, unwrapped
from app.providers.billing import BillingProvider, LocalBillingProvider
from app.providers.billing.stripe import StripeBillingProvider, StripeSettings
from app.providers.crm import CrmProvider, LocalCrmProvider
from app.providers.mailer import LocalMailer, Mailer, SmtpMailer, SmtpSettings
from app.providers.provisioning import LocalProvisioningTarget, ProvisioningTarget
from app.providers.provisioning.http import HttpProvisioningTarget, HttpTargetSettings

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
}
CRM_PROVIDERS: Mapping[str, Factory[CrmProvider]] = {
    "local": lambda deps: LocalCrmProvider(deps.session_factory),
}
PROVISIONING_TARGETS: Mapping[str, Factory[ProvisioningTarget]] = {
    "local": lambda deps: LocalProvisioningTarget(deps.session_factory, deps.clock),
    "http": lambda deps: HttpProvisioningTarget(_http_target_settings(deps.settings)),
}

MAILERS: Mapping[str, Factory[Mailer]] = {
    "local": lambda deps: LocalMailer(deps.session_factory, deps.clock),
    "smtp": lambda deps: SmtpMailer(_smtp_settings(deps.settings)),
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

    async def aclose(self) -> None:
        """Close what the implementations hold (HTTP sessions); each object once, all of them
        even if one fails."""
        errors: list[Exception] = []
        closed: set[int] = set()
        for wrapped in (self.billing, self.crm, self.provisioning, self.mailer):
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
    )


def _build(setting: str, name: str, factories: Mapping[str, Factory[P]], deps: ProviderDeps) -> P:
    factory = factories.get(name)
    if factory is None:
        choices = ", ".join(sorted(factories))
        raise ValueError(f"unknown {setting} {name!r}; valid choices: {choices}")
    return factory(deps)
