"""The vocabulary of the domain, shared by tables, services and the schema."""

from enum import StrEnum


class CustomerKind(StrEnum):
    DIRECT = "DIRECT"
    PARTNER_MANAGED = "PARTNER_MANAGED"


class MemberRole(StrEnum):
    OWNER = "OWNER"
    BILLING_ADMIN = "BILLING_ADMIN"
    VIEWER = "VIEWER"


class TokenKind(StrEnum):
    PARTNER = "PARTNER"
    ADMIN = "ADMIN"
    SERVICE = "SERVICE"


class DeploymentKind(StrEnum):
    SAAS_NAMESPACE = "SAAS_NAMESPACE"
    SELF_MANAGED = "SELF_MANAGED"


class ProductKind(StrEnum):
    PLAN = "PLAN"
    SEAT_ADDON = "SEAT_ADDON"
    ONE_TIME_PACK = "ONE_TIME_PACK"
    RECURRING_PACK = "RECURRING_PACK"


class BillingPeriod(StrEnum):
    YEAR = "YEAR"
    ONE_TIME = "ONE_TIME"


class SubscriptionStatus(StrEnum):
    TRIAL = "TRIAL"
    ACTIVE = "ACTIVE"
    GRACE = "GRACE"
    EXPIRED = "EXPIRED"


LIVE_STATUSES = (SubscriptionStatus.TRIAL, SubscriptionStatus.ACTIVE, SubscriptionStatus.GRACE)


class Channel(StrEnum):
    WEB_DIRECT = "WEB_DIRECT"
    SALES_ASSISTED = "SALES_ASSISTED"
    PARTNER = "PARTNER"
    MARKETPLACE = "MARKETPLACE"


class ReconciliationMode(StrEnum):
    QUARTERLY = "QUARTERLY"
    ANNUAL_TRUE_UP = "ANNUAL_TRUE_UP"


class SyncStatus(StrEnum):
    SYNCED = "SYNCED"
    PENDING = "PENDING"
    FAILED = "FAILED"
    DRIFTED = "DRIFTED"


class ProvisioningStatus(StrEnum):
    PENDING = "PENDING"
    PROVISIONED = "PROVISIONED"
    RETRYING = "RETRYING"
    FAILED = "FAILED"


class ConsumableKind(StrEnum):
    COMPUTE_MINUTES = "COMPUTE_MINUTES"
    STORAGE = "STORAGE"


class OrderStatus(StrEnum):
    PENDING = "PENDING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"


class InvoiceStatus(StrEnum):
    DRAFT = "DRAFT"
    OPEN = "OPEN"
    PAID = "PAID"
    VOID = "VOID"
    UNCOLLECTIBLE = "UNCOLLECTIBLE"
    REFUNDED = "REFUNDED"  # paid, then given back in full (an order that could not apply)


class InvoiceLineKind(StrEnum):
    CHARGE = "CHARGE"
    CREDIT = "CREDIT"
    DISCOUNT = "DISCOUNT"


class TaxTreatment(StrEnum):
    """How a line was taxed (docs/tax.md)."""

    NOT_TAXED = "NOT_TAXED"  # no taxable country, a country outside the rules, or tax off
    VAT = "VAT"  # EU VAT at the buyer country's standard rate
    REVERSE_CHARGE = "REVERSE_CHARGE"  # EU business buyer with a VAT id: the buyer accounts
    SALES_TAX = "SALES_TAX"  # US state sales tax (off unless configured)


class PaymentStatus(StrEnum):
    PENDING = "PENDING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


class PayNowStatus(StrEnum):
    """A pay-now request (invoicePay): being charged, or its outcome, replayed for its key."""

    PENDING = "PENDING"
    PAID = "PAID"
    DECLINED = "DECLINED"


class OutboxStatus(StrEnum):
    PENDING = "PENDING"
    DONE = "DONE"
    FAILED = "FAILED"


class DeliveryStatus(StrEnum):
    """An integration event's delivery to one subscriber."""

    PENDING = "PENDING"
    DELIVERED = "DELIVERED"
    FAILED = "FAILED"


class NotificationKind(StrEnum):
    SEAT_ALERT = "SEAT_ALERT"
    RECONCILIATION_NOTICE = "RECONCILIATION_NOTICE"
    RECONCILIATION_INVOICE = "RECONCILIATION_INVOICE"
    RENEWAL_REMINDER = "RENEWAL_REMINDER"
    SUBSCRIPTION_RENEWED = "SUBSCRIPTION_RENEWED"
    PAYMENT_FAILED = "PAYMENT_FAILED"
    GRACE_STARTED = "GRACE_STARTED"
    SUBSCRIPTION_EXPIRED = "SUBSCRIPTION_EXPIRED"
    TRIAL_ENDING = "TRIAL_ENDING"
    TRIAL_ENDED = "TRIAL_ENDED"
    CONSUMABLE_THRESHOLD = "CONSUMABLE_THRESHOLD"
    ORDER_REFUNDED = "ORDER_REFUNDED"
    LICENSE_SENT = "LICENSE_SENT"  # staff resent a license's activation code


class DriftSystem(StrEnum):
    """The system whose copy of a subscription differs from the local one."""

    BILLING = "BILLING"
    CRM = "CRM"


class DriftRepair(StrEnum):
    """What the drift job does about a difference (app/domain/drift.py, POLICY)."""

    REPUSH = "REPUSH"  # the local copy owns the field: it is pushed again
    ADMIN_TASK = "ADMIN_TASK"  # money: never changed automatically; an admin looks


class AdminTaskKind(StrEnum):
    MONEY_DRIFT = "MONEY_DRIFT"


class AdminTaskStatus(StrEnum):
    OPEN = "OPEN"
    RESOLVED = "RESOLVED"


class CreditNoteKind(StrEnum):
    """How a credit note gives the money back."""

    REFUND = "REFUND"  # refunded to the payment method that paid, at the billing provider
    CREDIT = "CREDIT"  # recorded only: given back outside the provider (see docs/money-back.md)


class CreditNoteReason(StrEnum):
    """Why, as the customer reads it on the credit note (the staff's own reason is audited)."""

    DUPLICATE = "DUPLICATE"
    SERVICE_ISSUE = "SERVICE_ISSUE"
    REQUESTED_BY_CUSTOMER = "REQUESTED_BY_CUSTOMER"
    GOODWILL = "GOODWILL"
    BILLING_ERROR = "BILLING_ERROR"


class CreditNoteStatus(StrEnum):
    PENDING = "PENDING"  # its refund was sent and not answered yet: retried with its key
    ISSUED = "ISSUED"  # given back
    FAILED = "FAILED"  # the provider refused the refund: nothing was given back


class DunningStatus(StrEnum):
    """Where collection of a subscription's money stands (Subscription.dunning)."""

    PAYMENT_FAILED = "PAYMENT_FAILED"  # a renewal's charge was declined: retried in grace
    PAST_DUE = "PAST_DUE"  # an open invoice is past its due date
