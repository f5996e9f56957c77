"""Failures of placing an order that carry more than a code."""

from __future__ import annotations

from typing import Any

from app.domain.errors import DomainError, ErrorCode


class NotAllowed(Exception):
    """The caller may not do this at all (a top-level FORBIDDEN, not a rule of the domain)."""


class NoMembership(Exception):
    """A customer user who belongs to no customer placed an order for an existing one (a
    top-level NO_CUSTOMER_MEMBERSHIP: they may only make a first purchase)."""


ORDER_INVOICE_VOIDED = "its invoice was voided"
INVOICE_STAYS_OPEN = "the invoice stays open"


class PaymentDeclined(DomainError):
    """A declined charge; `invoice_outcome` says what became of the invoice (an order's is
    voided, an invoice paid now stays open to be paid again)."""

    def __init__(
        self, decline_code: str, invoice_id: int, invoice_outcome: str = ORDER_INVOICE_VOIDED
    ) -> None:
        super().__init__(
            ErrorCode.PAYMENT_DECLINED,
            f"The payment was declined ({decline_code}); {invoice_outcome}.",
        )
        self.decline_code = decline_code
        self.invoice_id = invoice_id


class OrderInProgress(DomainError):
    """Another order or a billing job has the subscription now: nothing was charged, and a
    retry (with the same idempotency key) after about `retry_after_seconds` may go through."""

    def __init__(self, message: str, retry_after_seconds: int) -> None:
        super().__init__(ErrorCode.ORDER_IN_PROGRESS, message)
        self.retry_after_seconds = retry_after_seconds


def failure_result(error: DomainError) -> dict[str, Any]:
    """How an order's row keeps the failure it ends with (a decline with its code and
    invoice), from the moment it is being settled for it."""
    result: dict[str, Any] = {"error": {"code": error.code.value, "message": error.message}}
    if isinstance(error, PaymentDeclined):
        result["error"]["decline_code"] = error.decline_code
        result["invoice_id"] = error.invoice_id
    return result


def failure_of(result: dict[str, Any]) -> DomainError:
    """The failure `failure_result` kept."""
    error = result.get("error", {})
    if error.get("code") == ErrorCode.PAYMENT_DECLINED.value and "decline_code" in error:
        return PaymentDeclined(error["decline_code"], result.get("invoice_id") or 0)
    return DomainError(
        ErrorCode(error.get("code", "INTERNAL")), error.get("message", "Order failed.")
    )
