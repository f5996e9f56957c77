"""What an amendment of the recurring charges costs for the rest of the term."""

from collections.abc import Mapping
from datetime import date

from app.domain.money import prorate


def amendment_charge(
    before: Mapping[str, int],
    after: Mapping[str, int],
    effective: date,
    term_start: date,
    term_end: date,
) -> int:
    """Replacing the charges `before` with `after` (product code -> amount per term) from
    `effective` to the term end: each product's change prorated by calendar day and rounded
    on its own, as the quote's lines are (a credit is negative). The billing room holds a
    provider's own proration of the same change against this figure."""
    codes = dict.fromkeys([*before, *after])
    return sum(
        prorate(after.get(code, 0) - before.get(code, 0), effective, term_start, term_end)
        for code in codes
    )
