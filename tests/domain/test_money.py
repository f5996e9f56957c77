from datetime import date

import pytest

from app.domain.errors import DomainError, ErrorCode
from app.domain.money import Money, prorate, round_half_up, sum_money

TERM_START = date(2026, 1, 1)
TERM_END = date(2027, 1, 1)
PREMIUM = 34_800
ULTIMATE = 118_800
STORAGE_PACK = 6_000


@pytest.mark.parametrize(
    ("numerator", "denominator", "expected"),
    [
        (5, 2, 3),
        (-5, 2, -3),
        (7, 2, 4),
        (-7, 2, -4),
        (4, 3, 1),
        (-4, 3, -1),
        (5, 3, 2),
        (-5, 3, -2),
        (0, 7, 0),
        (6, 3, 2),
        (-6, 3, -2),
        (-95_700_000, 365, -262_192),  # -262 191.78
        (31_842_000, 365, 87_238),  # 87 238.36
    ],
)
def test_round_half_up(numerator: int, denominator: int, expected: int) -> None:
    assert round_half_up(numerator, denominator) == expected


@pytest.mark.parametrize("denominator", [0, -1])
def test_round_half_up_needs_positive_denominator(denominator: int) -> None:
    with pytest.raises(ValueError):
        round_half_up(1, denominator)


def test_example_1_add_seats() -> None:
    assert prorate(5 * PREMIUM, date(2026, 7, 2), TERM_START, TERM_END) == 87_238


def test_example_2_upgrade_credit_charge_and_net() -> None:
    effective = date(2026, 4, 1)
    credit = -prorate(10 * PREMIUM, effective, TERM_START, TERM_END)
    charge = prorate(10 * ULTIMATE, effective, TERM_START, TERM_END)
    assert (credit, charge) == (-262_192, 895_068)
    net = sum_money([Money(credit, "USD"), Money(charge, "USD")], "USD")
    assert net == Money(632_876, "USD")


def test_negative_amount_rounds_like_its_mirror() -> None:
    effective = date(2026, 4, 1)
    assert prorate(-10 * PREMIUM, effective, TERM_START, TERM_END) == -262_192


def test_example_3_storage_packs() -> None:
    assert prorate(2 * STORAGE_PACK, date(2026, 10, 1), TERM_START, TERM_END) == 3_025


def test_example_6_leap_year_term() -> None:
    start, end = date(2027, 6, 1), date(2028, 6, 1)
    assert (end - start).days == 366
    assert prorate(3 * PREMIUM, date(2028, 1, 1), start, end) == 43_357


@pytest.mark.parametrize(
    ("effective", "expected"),
    [(TERM_START, 10_000), (TERM_END, 0)],
)
def test_prorate_at_term_edges(effective: date, expected: int) -> None:
    assert prorate(10_000, effective, TERM_START, TERM_END) == expected


@pytest.mark.parametrize(
    ("effective", "start", "end"),
    [
        (date(2025, 12, 31), TERM_START, TERM_END),
        (date(2027, 1, 2), TERM_START, TERM_END),
        (TERM_START, TERM_START, TERM_START),
        (TERM_START, TERM_END, TERM_START),
    ],
)
def test_prorate_rejects_bad_dates(effective: date, start: date, end: date) -> None:
    with pytest.raises(ValueError):
        prorate(10_000, effective, start, end)


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        (123_456, "USD", "$1,234.56"),
        (-262_192, "USD", "-$2,621.92"),
        (0, "USD", "$0.00"),
        (5, "USD", "$0.05"),
        (-5, "USD", "-$0.05"),
        (100_000_000, "USD", "$1,000,000.00"),
        (123_456, "EUR", "€1,234.56"),
        (99, "GBP", "£0.99"),
        (1_235, "JPY", "¥1,235"),
        (-1_235, "JPY", "-¥1,235"),
        (1_234_500, "KRW", "1,234,500 KRW"),
        (123_456, "CHF", "1,234.56 CHF"),
        (-123_456, "CHF", "-1,234.56 CHF"),
    ],
)
def test_formatted(amount: int, currency: str, expected: str) -> None:
    assert Money(amount, currency).formatted == expected


def test_arithmetic_in_one_currency() -> None:
    a, b = Money(1_000, "USD"), Money(250, "USD")
    assert a + b == Money(1_250, "USD")
    assert a - b == Money(750, "USD")
    assert -a == Money(-1_000, "USD")
    assert Money.zero("EUR") == Money(0, "EUR")


@pytest.mark.parametrize("operation", ["add", "sub"])
def test_currency_mismatch(operation: str) -> None:
    usd, eur = Money(1, "USD"), Money(1, "EUR")
    with pytest.raises(DomainError) as raised:
        _ = usd + eur if operation == "add" else usd - eur
    assert raised.value.code is ErrorCode.CURRENCY_MISMATCH


def test_sum_money() -> None:
    items = [Money(100, "USD"), Money(-30, "USD"), Money(5, "USD")]
    assert sum_money(items, "USD") == Money(75, "USD")
    assert sum_money([], "GBP") == Money(0, "GBP")


def test_sum_money_refuses_another_currency() -> None:
    with pytest.raises(DomainError) as raised:
        sum_money([Money(100, "EUR")], "USD")
    assert raised.value.code is ErrorCode.CURRENCY_MISMATCH


@pytest.mark.parametrize("amount", [True, 1.5, "100"])
def test_amount_must_be_int(amount: object) -> None:
    with pytest.raises(TypeError):
        Money(amount, "USD")  # type: ignore[arg-type]


@pytest.mark.parametrize("currency", ["usd", "US", "USDD", "U$D", "", "ÉUR"])
def test_currency_must_be_three_upper_case_letters(currency: str) -> None:
    with pytest.raises(ValueError):
        Money(1, currency)


def test_adding_a_non_money_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        _ = Money(1, "USD") + 1  # type: ignore[operator]
