"""Refusals of payment methods and pay-now that carry more than a code."""

from __future__ import annotations

from app.domain.errors import DomainError, ErrorCode


class PaymentMethodRejected(DomainError):
    """The billing provider refused the token (unknown, or the card declined when attached)."""

    def __init__(self, provider_code: str) -> None:
        super().__init__(
            ErrorCode.PAYMENT_METHOD_REJECTED,
            f"The billing provider refused this payment method ({provider_code}); "
            "nothing was changed.",
        )
        self.provider_code = provider_code


class PaymentInProgress(DomainError):
    """The invoice (or its subscription) is being charged or changed by someone else now:
    nothing was charged; retry after about `retry_after_seconds`."""

    def __init__(self, message: str, retry_after_seconds: int) -> None:
        super().__init__(ErrorCode.PAYMENT_IN_PROGRESS, message)
        self.retry_after_seconds = retry_after_seconds


class NoPaymentMethod(DomainError):
    """Nothing to charge the invoice with: answered as a decline, and nothing is recorded."""

    decline_code = "no_payment_method"

    def __init__(self) -> None:
        super().__init__(
            ErrorCode.PAYMENT_DECLINED,
            "There is no payment method on file; set one with billingAccountSetPaymentMethod.",
        )
