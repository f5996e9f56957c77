"""Typed user errors: every mutation returns its payload or one of these."""

from __future__ import annotations

from typing import Annotated, Union

import strawberry

from app.domain.errors import DomainError
from app.domain.errors import ErrorCode as Code
from app.observability.context import note_user_error
from schema.common import Money
from schema.enums import ErrorCode


@strawberry.interface(description="An expected failure: what went wrong, and a stable code.")
class UserError:
    message: str
    code: ErrorCode


@strawberry.type(description="The input is malformed or out of range.")
class ValidationError(UserError):
    pass


@strawberry.type(description="No such object, or not one the caller may see.")
class NotFoundError(UserError):
    pass


@strawberry.type(description="A business rule refused the change; the code says which.")
class RuleViolation(UserError):
    pass


@strawberry.type(description="The quote or idempotency key can no longer be used as given.")
class QuoteError(UserError):
    retry_after_seconds: int | None = strawberry.field(
        default=None,
        description="With ORDER_IN_PROGRESS or PAYMENT_IN_PROGRESS: retry with the same "
        "idempotency key after about this many seconds (the retry places the order or pays "
        "the invoice, or answers as it ended).",
    )


@strawberry.type(
    description="The payment was declined: an order's invoice is voided (nothing changed), an "
    "invoice paid now stays open to be paid again."
)
class PaymentDeclinedError(UserError):
    decline_code: str


@strawberry.type(
    description="The billing provider refused the payment-method token; nothing was changed."
)
class PaymentMethodRejectedError(UserError):
    provider_code: str = strawberry.field(
        description="The provider's code, such as `invalid_payment_method` or `card_declined`."
    )


@strawberry.type(
    description="More money back than the invoice allows (REFUND_EXCEEDS_PAID: beyond what was "
    "paid and not yet given back; CREDIT_EXCEEDS_TOTAL: beyond its total); nothing changed."
)
class CreditExceedsError(UserError):
    remaining: Money = strawberry.field(description="What may still be given back.")


@strawberry.type(description="A provider (billing, CRM) failed; retryable ones may be retried.")
class ProviderError(UserError):
    retryable: bool


_BY_CODE: dict[Code, type[UserError]] = {
    Code.VALIDATION: ValidationError,
    Code.CURRENCY_MISMATCH: ValidationError,
    Code.NOT_FOUND: NotFoundError,
    Code.QUOTE_EXPIRED: QuoteError,
    Code.QUOTE_STALE: QuoteError,
    Code.IDEMPOTENCY_KEY_REUSED: QuoteError,
    Code.ORDER_IN_PROGRESS: QuoteError,
}


def user_error(error: DomainError) -> UserError:
    note_user_error(error.code.value)  # the request metrics' outcome (schema.view)
    if error.code is Code.PAYMENT_DECLINED:
        return PaymentDeclinedError(
            message=error.message,
            code=error.code,
            decline_code=getattr(error, "decline_code", "declined"),
        )
    if error.code in (Code.PROVIDER_UNAVAILABLE, Code.PROVIDER_REJECTED):
        retryable = error.code is Code.PROVIDER_UNAVAILABLE
        return ProviderError(message=error.message, code=error.code, retryable=retryable)
    if error.code is Code.PAYMENT_METHOD_REJECTED:
        return PaymentMethodRejectedError(
            message=error.message,
            code=error.code,
            provider_code=getattr(error, "provider_code", "rejected"),
        )
    if error.code in (Code.REFUND_EXCEEDS_PAID, Code.CREDIT_EXCEEDS_TOTAL):
        remaining = Money.of(getattr(error, "remaining", 0), getattr(error, "currency", "USD"))
        return CreditExceedsError(message=error.message, code=error.code, remaining=remaining)
    if error.code in (Code.ORDER_IN_PROGRESS, Code.PAYMENT_IN_PROGRESS):
        retry_after = getattr(error, "retry_after_seconds", None)
        return QuoteError(message=error.message, code=error.code, retry_after_seconds=retry_after)
    return _BY_CODE.get(error.code, RuleViolation)(message=error.message, code=error.code)


def result_union(name: str, payload: type, *errors: type[UserError]) -> object:
    """`<Mutation>Result`: the success payload or one of the errors the mutation can return
    (only those: docs/api-errors.md lists them, tests/api/test_result_unions.py checks)."""
    if not errors:
        raise ValueError(f"{name}: name the errors the mutation can return")
    return Annotated[Union[(payload, *errors)], strawberry.union(name)]
