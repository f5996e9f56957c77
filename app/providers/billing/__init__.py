"""Billing providers: the protocol, its neutral records and the embedded implementation."""

from app.providers.billing._validation import TEST_PAYMENT_METHODS
from app.providers.billing.local import LocalBillingProvider
from app.providers.billing.protocol import AmendmentPreview, BillingProvider
from app.providers.billing.records import (
    BillingAccountRecord,
    BillingSubscriptionRecord,
    InvoiceLineRecord,
    InvoiceRecord,
    InvoiceStatus,
    NewAccount,
    NewInvoice,
    PaymentRecord,
    PaymentStatus,
    RefundRecord,
    RefundStatus,
    SubscriptionItem,
    SubscriptionStatus,
)

__all__ = [
    "TEST_PAYMENT_METHODS",
    "AmendmentPreview",
    "BillingAccountRecord",
    "BillingProvider",
    "BillingSubscriptionRecord",
    "InvoiceLineRecord",
    "InvoiceRecord",
    "InvoiceStatus",
    "LocalBillingProvider",
    "NewAccount",
    "NewInvoice",
    "PaymentRecord",
    "PaymentStatus",
    "RefundRecord",
    "RefundStatus",
    "SubscriptionItem",
    "SubscriptionStatus",
]
