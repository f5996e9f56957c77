"""Rule violations raised by the domain and services, typed by a stable code."""

from enum import StrEnum


class ErrorCode(StrEnum):
    UNAUTHENTICATED = "UNAUTHENTICATED"
    FORBIDDEN = "FORBIDDEN"
    NOT_FOUND = "NOT_FOUND"
    VALIDATION = "VALIDATION"
    MANAGED_BY_PARTNER = "MANAGED_BY_PARTNER"
    SUBSCRIPTION_NOT_ACTIVE = "SUBSCRIPTION_NOT_ACTIVE"
    PLAN_NOT_ELIGIBLE = "PLAN_NOT_ELIGIBLE"
    SEATS_BELOW_BILLABLE_USERS = "SEATS_BELOW_BILLABLE_USERS"
    SEAT_LIMIT_EXCEEDED = "SEAT_LIMIT_EXCEEDED"
    ADDON_EXCEEDS_SEATS = "ADDON_EXCEEDS_SEATS"
    NO_SEATS_AVAILABLE = "NO_SEATS_AVAILABLE"
    USER_ID_INVALID = "USER_ID_INVALID"
    USER_NOT_A_MEMBER = "USER_NOT_A_MEMBER"
    MEMBER_ALREADY_EXISTS = "MEMBER_ALREADY_EXISTS"  # an invite of someone already a member
    LAST_OWNER = "LAST_OWNER"  # removing or demoting the customer's only owner
    NO_CUSTOMER_MEMBERSHIP = "NO_CUSTOMER_MEMBERSHIP"  # signed in, but a member of no customer
    ALREADY_A_CUSTOMER = "ALREADY_A_CUSTOMER"  # a first purchase by a member of a customer
    VAT_ID_INVALID = "VAT_ID_INVALID"
    SEAT_NOT_ASSIGNED = "SEAT_NOT_ASSIGNED"
    TRIAL_ALREADY_USED = "TRIAL_ALREADY_USED"
    OUTSIDE_RENEWAL_WINDOW = "OUTSIDE_RENEWAL_WINDOW"
    QUOTE_EXPIRED = "QUOTE_EXPIRED"
    QUOTE_STALE = "QUOTE_STALE"
    IDEMPOTENCY_KEY_REUSED = "IDEMPOTENCY_KEY_REUSED"
    PAYMENT_DECLINED = "PAYMENT_DECLINED"
    PROMO_CODE_INVALID = "PROMO_CODE_INVALID"  # unknown, or no longer active
    PROMO_CODE_NOT_STARTED = "PROMO_CODE_NOT_STARTED"
    PROMO_CODE_EXPIRED = "PROMO_CODE_EXPIRED"
    PROMO_CODE_EXHAUSTED = "PROMO_CODE_EXHAUSTED"
    PROMO_CODE_NOT_FOR_PLAN = "PROMO_CODE_NOT_FOR_PLAN"
    PROMO_CODE_WRONG_CURRENCY = "PROMO_CODE_WRONG_CURRENCY"
    PROMO_CODE_TAKEN = "PROMO_CODE_TAKEN"  # an admin's new code is another's, in any case
    PROVIDER_UNAVAILABLE = "PROVIDER_UNAVAILABLE"
    PROVIDER_REJECTED = "PROVIDER_REJECTED"
    RATE_LIMITED = "RATE_LIMITED"
    QUERY_TOO_COMPLEX = "QUERY_TOO_COMPLEX"
    CURRENCY_MISMATCH = "CURRENCY_MISMATCH"
    ORDER_IN_PROGRESS = "ORDER_IN_PROGRESS"
    PAYMENT_METHOD_REJECTED = "PAYMENT_METHOD_REJECTED"
    INVOICE_NOT_OPEN = "INVOICE_NOT_OPEN"
    INVOICE_NOT_PAYABLE = "INVOICE_NOT_PAYABLE"
    PAYMENT_IN_PROGRESS = "PAYMENT_IN_PROGRESS"
    INVOICE_PAID = "INVOICE_PAID"  # a paid invoice is refunded (a credit note), never voided
    INVOICE_NOT_PAID = "INVOICE_NOT_PAID"  # money goes back only on a paid invoice
    REFUND_EXCEEDS_PAID = "REFUND_EXCEEDS_PAID"
    CREDIT_EXCEEDS_TOTAL = "CREDIT_EXCEEDS_TOTAL"
    PERSISTED_DOCUMENT_NOT_FOUND = "PERSISTED_DOCUMENT_NOT_FOUND"
    DOCUMENT_NOT_TRUSTED = "DOCUMENT_NOT_TRUSTED"
    TEST_CLOCK_DISABLED = "TEST_CLOCK_DISABLED"
    EXTENSION_ALREADY_USED = "EXTENSION_ALREADY_USED"  # one trial/grace extension per term
    TERM_HELD_BY_PROVIDER = "TERM_HELD_BY_PROVIDER"  # the billing provider's term would differ
    PROVISIONING_NOT_FAILED = "PROVISIONING_NOT_FAILED"
    LICENSE_REVOKED = "LICENSE_REVOKED"
    READ_ONLY_VIEW = "READ_ONLY_VIEW"  # staff viewing as the customer may not change anything
    INTERNAL = "INTERNAL"


class DomainError(Exception):
    """A business rule said no; the API turns it into a typed user error."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(code, message)
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, DomainError):
            return NotImplemented
        return (self.code, self.message) == (other.code, other.message)

    def __hash__(self) -> int:
        return hash((self.code, self.message))
