"""Billing, CRM and provisioning behind one Protocol each, with neutral records, embedded
local implementations and a registry that builds them from settings."""

from app.providers.errors import (
    ProviderError,
    ProviderNotFound,
    ProviderRejected,
    ProviderUnavailable,
)
from app.providers.registry import ProviderDeps, Providers, build_providers

__all__ = [
    "ProviderDeps",
    "ProviderError",
    "ProviderNotFound",
    "ProviderRejected",
    "ProviderUnavailable",
    "Providers",
    "build_providers",
]
