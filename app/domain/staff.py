"""Rules of the staff tools (docs/staff-tools.md): complimentary seats, trial and grace
extensions, a moved term end. Pure: the use cases are app/services/staff/."""

from __future__ import annotations

from datetime import date, timedelta
from enum import StrEnum

from app.domain.errors import DomainError, ErrorCode

MAX_TRIAL_EXTENSION_DAYS = 30
MAX_GRACE_EXTENSION_DAYS = 14
# A moved term may not make the term longer than this (three years, a leap day included).
MAX_TERM_DAYS = 3 * 365 + 1


class ExtensionKind(StrEnum):
    TRIAL = "TRIAL"
    GRACE = "GRACE"


MAX_EXTENSION_DAYS = {
    ExtensionKind.TRIAL: MAX_TRIAL_EXTENSION_DAYS,
    ExtensionKind.GRACE: MAX_GRACE_EXTENSION_DAYS,
}


def check_comp_seats(comp_seats: int, paid_seats: int) -> None:
    """0 up to the paid seats: a comp is a courtesy beside what is paid for, never more."""
    if comp_seats < 0:
        raise DomainError(ErrorCode.VALIDATION, "`compSeats` must be zero or more.")
    if comp_seats > paid_seats:
        raise DomainError(
            ErrorCode.VALIDATION,
            f"At most {paid_seats:,} comp seats (the paid seats) may be given; "
            f"{comp_seats:,} were asked for.",
        )


def check_extension_days(kind: ExtensionKind, days: int) -> None:
    bound = MAX_EXTENSION_DAYS[kind]
    if not 1 <= days <= bound:
        raise DomainError(
            ErrorCode.VALIDATION,
            f"A {kind.value.lower()} extension is 1 to {bound} days; {days} were asked for.",
        )


def check_term_end(new_end: date, *, term_start: date, today: date) -> None:
    """Not before today, after the term start, and the term at most three years long."""
    if new_end < today:
        raise DomainError(
            ErrorCode.VALIDATION,
            f"The new term end {new_end.isoformat()} is before today ({today.isoformat()}).",
        )
    if new_end <= term_start:
        raise DomainError(
            ErrorCode.VALIDATION,
            f"The new term end must be after the term start ({term_start.isoformat()}).",
        )
    if new_end > term_start + timedelta(days=MAX_TERM_DAYS):
        raise DomainError(
            ErrorCode.VALIDATION,
            f"A term may last at most {MAX_TERM_DAYS} days; "
            f"{(new_end - term_start).days} were asked for.",
        )
