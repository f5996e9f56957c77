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
