"""Every table, imported in one place so the metadata is complete for Alembic."""

from sqlmodel import SQLModel

from app.db.tables.billing import (
    BillingAccount,
    CreditNote,
    Invoice,
    InvoiceLine,
    Order,
    Payment,
)
from app.db.tables.catalog import Price, Product
from app.db.tables.commerce import NumberSequence, OrderLease, Promotion
from app.db.tables.customers import ApiToken, Customer, Deployment, Membership, Partner, PortalUser
from app.db.tables.drift import AdminTask, DriftCheck, DriftFinding
from app.db.tables.integration import (
    IntegrationAttempt,
    IntegrationDelivery,
    IntegrationEvent,
    IntegrationSubscriber,
)
from app.db.tables.lifecycle import LifecycleEvent, Reconciliation, Renewal
from app.db.tables.local_providers import (
    CrmAccountRecord,
    CrmContactRecord,
    CrmOpportunityRecord,
    CrmSubscriptionRecord,
    LedgerAccount,
    LedgerIdempotency,
    LedgerInvoice,
    LedgerPayment,
    LedgerRefund,
    LedgerSubscription,
    LocalMail,
    ProvisionedEntitlement,
)
from app.db.tables.notifications import Notification
from app.db.tables.operations import AuditEvent, OutboxMessage
from app.db.tables.payments import PayNowRequest
from app.db.tables.subscriptions import (
    AddOnAssignment,
    AddOnPurchase,
    ConsumablePurchase,
    License,
    SeatUsage,
    Subscription,
    SubscriptionExtension,
)
from app.db.tables.trusted_documents import TrustedDocument
from app.db.tables.usage import ComputeUsageEvent, ComputeUsageMonth
from app.db.tables.webhooks import WebhookEvent

metadata = SQLModel.metadata

__all__ = [
    "AddOnAssignment",
    "AddOnPurchase",
    "AdminTask",
    "ApiToken",
    "AuditEvent",
    "BillingAccount",
    "ComputeUsageEvent",
    "ComputeUsageMonth",
    "ConsumablePurchase",
    "CreditNote",
    "CrmAccountRecord",
    "CrmContactRecord",
    "CrmOpportunityRecord",
    "CrmSubscriptionRecord",
    "Customer",
    "Deployment",
    "DriftCheck",
    "DriftFinding",
    "IntegrationAttempt",
    "IntegrationDelivery",
    "IntegrationEvent",
    "IntegrationSubscriber",
    "Invoice",
    "InvoiceLine",
    "LedgerAccount",
    "LedgerIdempotency",
    "LedgerInvoice",
    "LedgerPayment",
    "LedgerRefund",
    "LedgerSubscription",
    "License",
    "LifecycleEvent",
    "LocalMail",
    "Membership",
    "Notification",
    "NumberSequence",
    "Order",
    "OrderLease",
    "OutboxMessage",
    "Partner",
    "PayNowRequest",
    "Payment",
    "PortalUser",
    "Price",
    "Product",
    "Promotion",
    "ProvisionedEntitlement",
    "Reconciliation",
    "Renewal",
    "SeatUsage",
    "Subscription",
    "SubscriptionExtension",
    "TrustedDocument",
    "WebhookEvent",
    "metadata",
]
