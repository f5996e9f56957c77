"""Provisioning targets: the protocol, its records and the embedded implementation."""

from app.providers.provisioning.local import LocalProvisioningTarget
from app.providers.provisioning.protocol import ProvisioningTarget
from app.providers.provisioning.records import Entitlement, ProvisioningResult

__all__ = ["Entitlement", "LocalProvisioningTarget", "ProvisioningResult", "ProvisioningTarget"]
