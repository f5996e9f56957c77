"""Quarterly reconciliation (docs/domain.md section 6): the quarters of a term, each quarter's
overage and what it costs.

A 12-month term has four quarters; quarter n runs from term_start + 3(n-1) months up to (not
including) term_start + 3n months, which is its reconciliation date. The quarter's max seats
used is the highest billable-user report dated within [quarter start, quarter end). At the
end of quarters 1-3 the seats used above the paid seats are billed for the quarters left:
`overage x seat price x remaining_quarters / 4` (rounded half up to the cent); quarter 4 is
never reconciled (the renewal takes over). The invoice follows the notice by 7 days.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from app.domain.calendar import add_months
from app.domain.money import round_half_up

QUARTERS = 4
MONTHS_PER_QUARTER = 3
RECONCILED_QUARTERS = 3  # quarters 1-3; quarter 4 is settled by the renewal
INVOICE_DELAY = timedelta(days=7)


class ReconciliationStatus(StrEnum):
    SCHEDULED = "SCHEDULED"  # the quarter has not ended (or has not been looked at yet)
    NOTHING_DUE = "NOTHING_DUE"  # the quarter's max did not exceed the paid seats
    NOTICED = "NOTICED"  # overage found, customer notified; invoice due 7 days later
    INVOICING = "INVOICING"  # a worker is invoicing and charging it (claimed)
    SETTLED = "SETTLED"  # seats bought meanwhile covered the overage: nothing billed
    PAID = "PAID"  # invoiced and paid; paid seats raised
    DECLINED = "DECLINED"  # invoiced, payment declined (invoice stays open); seats raised
    SKIPPED = "SKIPPED"  # the subscription left its term or stopped being active


OPEN_STATUSES = (
    ReconciliationStatus.SCHEDULED,
    ReconciliationStatus.NOTICED,
    ReconciliationStatus.INVOICING,
)


@dataclass(frozen=True, slots=True)
class Quarter:
    number: int  # 1..4
    start: date
    end: date  # exclusive; the reconciliation (notice) date

    @property
    def invoice_on(self) -> date:
        return self.end + INVOICE_DELAY


def quarters(term_start: date, term_end: date) -> tuple[Quarter, ...]:
    """The quarters to reconcile (1-3) of a term; quarters that would end at or after the
    term end (a term shorter than a year) are left out."""
    found = []
    for number in range(1, RECONCILED_QUARTERS + 1):
        start = add_months(term_start, MONTHS_PER_QUARTER * (number - 1))
        end = add_months(term_start, MONTHS_PER_QUARTER * number)
        if end >= term_end:
            break
        found.append(Quarter(number, start, end))
    return tuple(found)


def remaining_quarters(quarter_number: int) -> int:
    """The quarters of the term left after quarter `quarter_number` (what its overage pays)."""
    return QUARTERS - quarter_number


def overage(max_seats_used: int, paid_seats: int) -> int:
    return max(0, max_seats_used - paid_seats)


def overage_amount(overage_seats: int, unit_amount: int, quarter_number: int) -> int:
    """`overage x seat price x remaining_quarters / 4`, rounded half up to the minor unit."""
    if not 1 <= quarter_number <= QUARTERS:
        raise ValueError("quarter_number must be 1-4")
    if overage_seats < 0 or unit_amount < 0:
        raise ValueError("overage and unit amount must not be negative")
    remaining = remaining_quarters(quarter_number)
    return round_half_up(overage_seats * unit_amount * remaining, QUARTERS)
