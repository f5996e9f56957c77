"""The words beside an invoice's figures: payment terms, service periods, address blocks."""

from __future__ import annotations

from datetime import date

import pytest

from app.domain.invoice_terms import address_lines, payment_terms, service_period

ISSUED = date(2026, 7, 2)


@pytest.mark.parametrize(
    ("due", "paid", "method", "expected"),
    [
        (date(2026, 8, 1), None, None, "Net 30"),
        (ISSUED, None, None, "Due on receipt"),
        (ISSUED, date(2026, 7, 3), "pm_card_visa", "Paid by card on 2026-07-03"),
        (ISSUED, date(2026, 7, 3), "card_1Nq", "Paid by card on 2026-07-03"),
        (ISSUED, date(2026, 7, 3), "sepa_debit_1", "Paid on 2026-07-03"),
        (ISSUED, date(2026, 7, 3), None, "Paid on 2026-07-03"),
    ],
)
def test_payment_terms(due: date, paid: date | None, method: str | None, expected: str) -> None:
    assert payment_terms(ISSUED, due, paid, method) == expected


def test_a_service_period_needs_both_ends() -> None:
    assert service_period(ISSUED, date(2027, 1, 1)) == ("Service period 2026-07-02 to 2027-01-01")
    assert service_period(ISSUED, None) is None
    assert service_period(None, None) is None


def test_address_lines_leave_out_what_is_not_set() -> None:
    assert address_lines("1 Market St", "Suite 3", "94105", "San Francisco", "CA", "US") == [
        "1 Market St",
        "Suite 3",
        "94105 San Francisco, CA",
        "US",
    ]
    assert address_lines(None, None, None, "Berlin", None, "DE") == ["Berlin", "DE"]
    assert address_lines(None, None, None, None, "CA", None) == ["CA"]
    assert address_lines(None, None, None, None, None, None) == []
