"""When the billing lifecycle acts (docs/domain.md section 6), as pure date rules.

A term covers [term_start, term_end). At term_end an auto-renewing subscription renews (the
charge is tried then); without payment, or with auto-renew off, it is in GRACE for 14 days
(term_end .. term_end + 13) and EXPIRED from term_end + 14. A declined renewal payment is
tried again on fixed days of the grace period. Reminders go out 15 days before a paid term
ends and 3 days before a trial ends.
"""

from __future__ import annotations

from datetime import date, timedelta
from enum import StrEnum

from app.domain.eligibility import GRACE_PERIOD_DAYS, RENEWAL_WINDOW_DAYS

# Days after term_end on which a declined renewal is charged again (all within grace).
PAYMENT_RETRY_DAYS = (3, 7, 11)
TRIAL_ENDING_NOTICE_DAYS = 3


class RenewalStatus(StrEnum):
    PENDING = "PENDING"  # claimed: invoiced and being charged
    PAID = "PAID"  # renewed
    DECLINED = "DECLINED"  # the last charge failed; the subscription is in grace
    LAPSED = "LAPSED"  # grace ran out (or the subscription left the term): not renewed


class LifecycleEventKind(StrEnum):
    RENEWAL_REMINDER = "RENEWAL_REMINDER"
    TRIAL_ENDING = "TRIAL_ENDING"


def expires_on(term_end: date) -> date:
    """The first day without service after a term that was not renewed."""
    return term_end + timedelta(days=GRACE_PERIOD_DAYS)


def next_retry_on(term_end: date, attempts: int) -> date | None:
    """After `attempts` failed charges (the first at term_end), the day of the next one;
    None when no retry is left before the grace period ends."""
    if attempts < 1:
        raise ValueError("attempts must be at least 1")
    if attempts > len(PAYMENT_RETRY_DAYS):
        return None
    retry = term_end + timedelta(days=PAYMENT_RETRY_DAYS[attempts - 1])
    return retry if retry < expires_on(term_end) else None


def renewal_reminders_until(today: date) -> date:
    """The last term end whose renewal reminder is due on `today` (15 days ahead)."""
    return today + timedelta(days=RENEWAL_WINDOW_DAYS)


def trial_ending_notices_until(today: date) -> date:
    """The last trial end whose ending notice is due on `today` (3 days ahead)."""
    return today + timedelta(days=TRIAL_ENDING_NOTICE_DAYS)
