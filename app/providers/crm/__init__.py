"""CRM providers: the protocol, its neutral records and the embedded implementation."""

from app.providers.crm.local import LocalCrmProvider
from app.providers.crm.protocol import CrmProvider
from app.providers.crm.records import (
    CrmAccount,
    CrmContact,
    CrmOpportunity,
    CrmSubscription,
    NewOpportunity,
)

__all__ = [
    "CrmAccount",
    "CrmContact",
    "CrmOpportunity",
    "CrmProvider",
    "CrmSubscription",
    "LocalCrmProvider",
    "NewOpportunity",
]
