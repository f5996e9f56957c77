"""Promo codes: when one applies to an order, and how much it takes off."""

from dataclasses import dataclass
from datetime import date

from app.domain.errors import DomainError, ErrorCode
from app.domain.money import Money, round_half_up

# Every refusal of a promo code, each for its own reason (`check_promotion`).
REFUSALS = frozenset(
    {
        ErrorCode.PROMO_CODE_INVALID,
        ErrorCode.PROMO_CODE_NOT_STARTED,
        ErrorCode.PROMO_CODE_EXPIRED,
        ErrorCode.PROMO_CODE_EXHAUSTED,
        ErrorCode.PROMO_CODE_NOT_FOR_PLAN,
        ErrorCode.PROMO_CODE_WRONG_CURRENCY,
    }
)


@dataclass(frozen=True, slots=True)
class Promotion:
    code: str
    percent_off: int | None  # 1..100
    amount_off: int | None  # minor units, in `currency`
    currency: str | None
    expires_on: date | None  # last valid day
    redemptions_left: int | None  # None = unlimited
    plan_codes: tuple[str, ...]  # empty = any plan
    starts_on: date | None = None  # first valid day

    def __post_init__(self) -> None:
        if (self.percent_off is None) == (self.amount_off is None):
            raise ValueError("a promotion has exactly one of percent_off and amount_off")
        if self.percent_off is not None and not 1 <= self.percent_off <= 100:
            raise ValueError("percent_off must be between 1 and 100")
        if self.amount_off is not None and (self.amount_off <= 0 or self.currency is None):
            raise ValueError("amount_off must be positive and have a currency")

    def description(self, currency: str) -> str:
        if self.percent_off is not None:
            return f"Promotion {self.code}: {self.percent_off}% off"
        return f"Promotion {self.code}: {Money(self.amount_off or 0, currency).formatted} off"


def check_promotion(promotion: Promotion, *, currency: str, plan_code: str, today: date) -> None:
    """Raise a PROMO_CODE_* error unless `promotion` applies to this order: one code per
    reason, so a client can tell the buyer why (not yet, no more, not this plan ...)."""
    refusal = _refusal(promotion, currency=currency, plan_code=plan_code, today=today)
    if refusal is not None:
        code, reason = refusal
        raise DomainError(code, f"The promo code `{promotion.code}` {reason}.")


def _refusal(
    promotion: Promotion, *, currency: str, plan_code: str, today: date
) -> tuple[ErrorCode, str] | None:
    if promotion.starts_on is not None and today < promotion.starts_on:
        return ErrorCode.PROMO_CODE_NOT_STARTED, f"is valid from {promotion.starts_on.isoformat()}"
    if promotion.expires_on is not None and today > promotion.expires_on:
        return ErrorCode.PROMO_CODE_EXPIRED, f"expired on {promotion.expires_on.isoformat()}"
    if promotion.redemptions_left is not None and promotion.redemptions_left <= 0:
        return ErrorCode.PROMO_CODE_EXHAUSTED, "has been fully redeemed"
    if promotion.plan_codes and plan_code not in promotion.plan_codes:
        return ErrorCode.PROMO_CODE_NOT_FOR_PLAN, "does not apply to this plan"
    if promotion.amount_off is not None and promotion.currency != currency:
        return ErrorCode.PROMO_CODE_WRONG_CURRENCY, f"cannot be used for an order in {currency}"
    return None


def discount_amount(promotion: Promotion, base: int) -> int:
    """The discount on `base` (the order's net: charges minus credits), never more than it."""
    if base <= 0:
        return 0
    if promotion.percent_off is not None:
        return round_half_up(base * promotion.percent_off, 100)
    return min(promotion.amount_off or 0, base)
