"""Integer money in minor units, exact rounding and calendar-day proration."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Self

from app.domain.errors import DomainError, ErrorCode

# Amounts are stored as signed 64-bit integers (BIGINT) and carried as such by the API.
MIN_MINOR_UNITS = -(2**63)
MAX_MINOR_UNITS = 2**63 - 1
DEFAULT_MINOR_UNIT_EXPONENT = 2
MINOR_UNIT_EXPONENTS: dict[str, int] = {"JPY": 0, "KRW": 0}
CURRENCY_SYMBOLS: dict[str, str] = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥"}


def round_half_up(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded to the nearest integer, halves away from zero."""
    if denominator <= 0:
        raise ValueError("denominator must be positive")
    quotient, remainder = divmod(abs(numerator), denominator)
    if 2 * remainder >= denominator:
        quotient += 1
    return quotient if numerator >= 0 else -quotient


def prorate(amount_per_term: int, effective: date, term_start: date, term_end: date) -> int:
    """The share of a term's amount for the days from `effective` to the term end."""
    if term_end <= term_start:
        raise ValueError("term_end must be after term_start")
    if not term_start <= effective <= term_end:
        raise ValueError("effective date must lie within the term")
    remaining_days = (term_end - effective).days
    term_days = (term_end - term_start).days
    return round_half_up(amount_per_term * remaining_days, term_days)


def minor_unit_exponent(currency: str) -> int:
    return MINOR_UNIT_EXPONENTS.get(currency, DEFAULT_MINOR_UNIT_EXPONENT)


def _is_currency_code(currency: object) -> bool:
    return (
        isinstance(currency, str)
        and len(currency) == 3
        and currency.isascii()
        and currency.isalpha()
        and currency.isupper()
    )


@dataclass(frozen=True, slots=True)
class Money:
    amount: int
    currency: str

    def __post_init__(self) -> None:
        # bool is an int subclass; True dollars is always a bug.
        if isinstance(self.amount, bool) or not isinstance(self.amount, int):
            raise TypeError(f"amount must be an int of minor units, not {self.amount!r}")
        if not _is_currency_code(self.currency):
            raise ValueError(f"currency must be three upper-case letters, not {self.currency!r}")

    @classmethod
    def zero(cls, currency: str) -> Self:
        return cls(0, currency)

    def _same_currency(self, other: "Money") -> None:
        if other.currency != self.currency:
            raise DomainError(
                ErrorCode.CURRENCY_MISMATCH,
                f"Cannot combine amounts in {self.currency} and {other.currency}.",
            )

    def __add__(self, other: "Money") -> "Money":
        if not isinstance(other, Money):
            return NotImplemented
        self._same_currency(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: "Money") -> "Money":
        if not isinstance(other, Money):
            return NotImplemented
        self._same_currency(other)
        return Money(self.amount - other.amount, self.currency)

    def __neg__(self) -> "Money":
        return Money(-self.amount, self.currency)

    @property
    def formatted(self) -> str:
        """Human form: "$1,234.56", "-$2,621.92", "¥1,235", "1,234.56 CHF"."""
        exponent = minor_unit_exponent(self.currency)
        major, minor = divmod(abs(self.amount), 10**exponent)
        number = f"{major:,}" + (f".{minor:0{exponent}d}" if exponent else "")
        sign = "-" if self.amount < 0 else ""
        symbol = CURRENCY_SYMBOLS.get(self.currency)
        if symbol is None:
            return f"{sign}{number} {self.currency}"
        return f"{sign}{symbol}{number}"


def sum_money(items: Iterable[Money], currency: str) -> Money:
    """The total of `items`, all in `currency` (zero when empty)."""
    total = Money.zero(currency)
    for item in items:
        total = total + item
    return total
