"""Money given back against an invoice (a credit note), as pure rules.

A credit note corrects one invoice: in the invoice's currency, with lines that add up to its
amount (one line for a plain amount), each line above zero. What may still be given back:

- credited in all (every note, refund or credit) never passes the invoice's total;
- refunded to the payment method never passes what was paid, nor what is left of the total
  once credits are counted: `refundable = min(paid - refunded, total - credited)`.

Notes whose refund is still unanswered (PENDING) count as given: two notes racing for the
last cents cannot both have them. A refused request changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from app.domain.enums import CreditNoteKind
from app.domain.errors import DomainError, ErrorCode
from app.domain.money import Money

MAX_LINES = 50
MAX_DESCRIPTION = 500


@dataclass(frozen=True, slots=True)
class CreditLine:
    description: str
    amount: int


@dataclass(frozen=True, slots=True)
class Given:
    """What the invoice's notes (ISSUED and PENDING) have given back so far."""

    credited: int = 0  # every note
    refunded: int = 0  # the REFUND notes among them


class CreditExceeds(DomainError):
    """More than may still be given back: `remaining` is what may."""

    def __init__(self, code: ErrorCode, message: str, remaining: int, currency: str) -> None:
        super().__init__(code, message)
        self.remaining = remaining
        self.currency = currency


def credit_lines(
    *,
    amount: int | None,
    lines: Sequence[CreditLine],
    currency: str,
    invoice_currency: str,
    default_description: str,
) -> tuple[CreditLine, ...]:
    """The note's lines: the given lines, or one line of `amount`. Exactly one of the two;
    every amount above zero; the currency the invoice's."""
    if currency.strip().upper() != invoice_currency:
        raise DomainError(
            ErrorCode.CURRENCY_MISMATCH,
            f"The invoice is in {invoice_currency}; a credit note against it is too "
            f"(got {currency!r}).",
        )
    if (amount is None) == (not lines):
        raise DomainError(
            ErrorCode.VALIDATION, "Give either an `amount` or `lines`, not both and not neither."
        )
    if amount is not None:
        found: tuple[CreditLine, ...] = (CreditLine(default_description, amount),)
    else:
        if len(lines) > MAX_LINES:
            raise DomainError(ErrorCode.VALIDATION, f"At most {MAX_LINES} lines.")
        found = tuple(CreditLine(line.description.strip(), line.amount) for line in lines)
    for line in found:
        if isinstance(line.amount, bool) or line.amount <= 0:
            raise DomainError(
                ErrorCode.VALIDATION, "Every amount given back must be above zero (minor units)."
            )
        if not line.description or len(line.description) > MAX_DESCRIPTION:
            raise DomainError(
                ErrorCode.VALIDATION,
                f"Every line needs a description of 1-{MAX_DESCRIPTION} characters.",
            )
    return found


def refundable(*, total: int, paid: int, given: Given) -> int:
    return max(0, min(paid - given.refunded, total - given.credited))


def creditable(*, total: int, given: Given) -> int:
    return max(0, total - given.credited)


def check_room(
    kind: CreditNoteKind, amount: int, *, total: int, paid: int, given: Given, currency: str
) -> None:
    """Refuse a note that would give back more than the invoice allows."""
    if kind is CreditNoteKind.REFUND:
        left = refundable(total=total, paid=paid, given=given)
        if amount > left:
            raise CreditExceeds(
                ErrorCode.REFUND_EXCEEDS_PAID,
                f"A refund of {Money(amount, currency).formatted} is more than the "
                f"{Money(left, currency).formatted} left to refund on this invoice; "
                "nothing was refunded.",
                left,
                currency,
            )
        return
    left = creditable(total=total, given=given)
    if amount > left:
        raise CreditExceeds(
            ErrorCode.CREDIT_EXCEEDS_TOTAL,
            f"A credit of {Money(amount, currency).formatted} is more than the "
            f"{Money(left, currency).formatted} left of this invoice's total; nothing was "
            "credited.",
            left,
            currency,
        )
