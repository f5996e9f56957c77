"""The `outcome` label of fulfillment_orders_total: how an orderPlace call ended."""

from __future__ import annotations

from app.domain.errors import DomainError, ErrorCode

_FAILED = frozenset(
    {ErrorCode.PROVIDER_UNAVAILABLE, ErrorCode.PROVIDER_REJECTED, ErrorCode.INTERNAL}
)


def order_outcome(error: DomainError | None) -> str:
    """completed; declined (the card); in_progress (refused for now: retry with the key);
    failed (a provider or a bug); refused (the caller's: a rule, a stale quote, no access)."""
    if error is None:
        return "completed"
    if error.code is ErrorCode.PAYMENT_DECLINED:
        return "declined"
    if error.code is ErrorCode.ORDER_IN_PROGRESS:
        return "in_progress"
    return "failed" if error.code in _FAILED else "refused"
