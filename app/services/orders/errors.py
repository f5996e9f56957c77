"""Failures of placing an order that carry more than a code."""

from __future__ import annotations

from app.domain.errors import DomainError, ErrorCode


class NotAllowed(Exception):
    """The caller may not do this at all (a top-level FORBIDDEN, not a rule of the domain)."""


class PaymentDeclined(DomainError):
    def __init__(self, decline_code: str, invoice_id: int) -> None:
        super().__init__(
            ErrorCode.PAYMENT_DECLINED,
            f"The payment was declined ({decline_code}); the invoice stays open.",
        )
        self.decline_code = decline_code
        self.invoice_id = invoice_id


class OrderInProgress(DomainError):
    """Another order or a billing job has the subscription now: nothing was charged, and a
    retry (with the same idempotency key) after about `retry_after_seconds` may go through."""

    def __init__(self, message: str, retry_after_seconds: int) -> None:
        super().__init__(ErrorCode.ORDER_IN_PROGRESS, message)
        self.retry_after_seconds = retry_after_seconds
