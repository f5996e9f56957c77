"""The pure rules of money back: credit-note lines and what may still be given back
(app/domain/credit_notes.py), and the dunning state (app/domain/dunning.py)."""

from __future__ import annotations

from datetime import date

import pytest

from app.domain.credit_notes import (
    CreditExceeds,
    CreditLine,
    Given,
    check_room,
    credit_lines,
    creditable,
    refundable,
)
from app.domain.dunning import DeclinedRenewal, OpenInvoice, dunning_of
from app.domain.enums import CreditNoteKind, DunningStatus
from app.domain.errors import DomainError, ErrorCode


def _lines(**given: object) -> tuple[CreditLine, ...]:
    args: dict[str, object] = {
        "amount": None,
        "lines": (),
        "currency": "USD",
        "invoice_currency": "USD",
        "default_description": "Credit",
    } | given
    return credit_lines(**args)  # type: ignore[arg-type]


def test_an_amount_is_one_line_and_lines_are_kept() -> None:
    assert _lines(amount=500) == (CreditLine("Credit", 500),)
    assert _lines(currency=" usd ", lines=[CreditLine(" Seats ", 3), CreditLine("Tax", 1)]) == (
        CreditLine("Seats", 3),
        CreditLine("Tax", 1),
    )


@pytest.mark.parametrize(
    ("given", "code"),
    [
        ({"amount": 1, "currency": "EUR"}, ErrorCode.CURRENCY_MISMATCH),
        ({}, ErrorCode.VALIDATION),
        ({"amount": 1, "lines": [CreditLine("x", 1)]}, ErrorCode.VALIDATION),
        ({"amount": 0}, ErrorCode.VALIDATION),
        ({"amount": True}, ErrorCode.VALIDATION),
        ({"lines": [CreditLine("x", 5), CreditLine("y", -1)]}, ErrorCode.VALIDATION),
        ({"lines": [CreditLine("x" * 501, 5)]}, ErrorCode.VALIDATION),
        ({"lines": [CreditLine("x", 1)] * 51}, ErrorCode.VALIDATION),
    ],
)
def test_bad_lines_are_refused(given: dict[str, object], code: ErrorCode) -> None:
    with pytest.raises(DomainError) as caught:
        _lines(**given)
    assert caught.value.code is code


def test_what_is_left_counts_credits_against_refunds() -> None:
    given = Given(credited=300_000, refunded=100_000)
    assert refundable(total=348_000, paid=348_000, given=given) == 48_000
    assert refundable(total=348_000, paid=150_000, given=given) == 48_000
    assert refundable(total=348_000, paid=120_000, given=given) == 20_000
    assert creditable(total=348_000, given=given) == 48_000
    assert refundable(total=100, paid=100, given=Given(credited=150, refunded=150)) == 0


def test_the_room_check_names_what_is_left() -> None:
    given = Given(credited=100_000, refunded=100_000)
    check_room(
        CreditNoteKind.REFUND, 248_000, total=348_000, paid=348_000, given=given, currency="USD"
    )
    with pytest.raises(CreditExceeds) as caught:
        check_room(
            CreditNoteKind.REFUND, 248_001, total=348_000, paid=348_000, given=given, currency="USD"
        )
    assert (caught.value.code, caught.value.remaining) == (ErrorCode.REFUND_EXCEEDS_PAID, 248_000)
    with pytest.raises(CreditExceeds) as credit:
        check_room(CreditNoteKind.CREDIT, 1, total=0, paid=0, given=Given(), currency="JPY")
    assert (credit.value.code, credit.value.remaining) == (ErrorCode.CREDIT_EXCEEDS_TOTAL, 0)
    assert credit.value.message.startswith("A credit of ¥1 is more than the ¥0 left")


def _open(invoice_id: int, due_on: date, failed: int = 0) -> OpenInvoice:
    code = "card_declined" if failed else None
    return OpenInvoice(invoice_id, 1_000, "USD", due_on, failed, code)


def test_dunning_prefers_the_renewal_then_a_decline_then_the_oldest_late() -> None:
    today = date(2027, 1, 5)
    late, declined, renewed = (
        _open(1, date(2026, 12, 1)),
        _open(2, date(2027, 2, 1), 1),
        _open(3, date(2027, 1, 1), 2),
    )
    renewal = DeclinedRenewal(3, date(2027, 1, 1), 2, date(2027, 1, 8), "card_declined")

    found = dunning_of([late, declined, renewed], renewal, today)
    assert found is not None
    assert (found.status, found.invoice_id, found.attempts) == (DunningStatus.PAYMENT_FAILED, 3, 2)
    assert (found.next_retry_on, found.grace_ends_on) == (date(2027, 1, 8), date(2027, 1, 14))
    second = dunning_of([late, declined], None, today)
    assert second is not None and (second.status, second.invoice_id) == (
        DunningStatus.PAYMENT_FAILED,
        2,
    )
    third = dunning_of([late, _open(4, today)], None, today)
    assert third is not None and (third.status, third.invoice_id) == (DunningStatus.PAST_DUE, 1)
    assert dunning_of([_open(4, today)], None, today) is None
    assert dunning_of([], renewal, today) is None  # its invoice is no longer open
