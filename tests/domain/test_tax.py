"""The tax rules (app/domain/tax.py) and the repository's EU rate table, exactly."""

from __future__ import annotations

import pytest

from app.domain.enums import TaxTreatment
from app.domain.tax import (
    EU_COUNTRIES,
    REVERSE_CHARGE_NOTE,
    Buyer,
    TaxRules,
    format_percent,
    jurisdiction,
    parse_percent,
    parse_state_rates,
    tax_lines,
    vat_id_valid,
)
from app.providers.tax.local import eu_rates_taken_on, eu_standard_rates

RULES = TaxRules(seller_country="NL", eu_standard_rates=eu_standard_rates())
WITH_US = TaxRules("NL", eu_standard_rates(), {"CA": 72_500, "MO": 42_250})


def test_the_eu_table_has_the_27_member_states_with_its_date() -> None:
    rates = eu_standard_rates()
    assert set(rates) == EU_COUNTRIES and len(rates) == 27
    assert eu_rates_taken_on() == "2025-08-01"
    assert {c: rates[c] for c in ("DE", "NL", "FR", "FI", "HU", "LU", "EE", "RO", "SK")} == {
        "DE": 190_000,
        "NL": 210_000,
        "FR": 200_000,
        "FI": 255_000,
        "HU": 270_000,
        "LU": 170_000,
        "EE": 240_000,
        "RO": 210_000,
        "SK": 230_000,
    }


@pytest.mark.parametrize(
    ("text", "ppm", "shown"),
    [("19", 190_000, "19"), ("25.5", 255_000, "25.5"), ("4.225", 42_250, "4.225"),
     ("0", 0, "0"), ("7.25", 72_500, "7.25"), ("99.9999", 999_999, "99.9999")],
)  # fmt: skip
def test_percentages_are_exact_parts_per_million(text: str, ppm: int, shown: str) -> None:
    assert parse_percent(text) == ppm
    assert format_percent(ppm) == shown


@pytest.mark.parametrize("text", ["", "19%", "-1", "100", "1.23456", "1,5", "abc", "1e2"])
def test_a_percentage_that_is_not_one_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="a tax rate is a percentage"):
        parse_percent(text)


def test_state_rates_parse_and_refuse_a_bad_or_repeated_state() -> None:
    assert parse_state_rates("") == {}
    assert parse_state_rates(" ca=7.25, TX=6.25 ,") == {"CA": 72_500, "TX": 62_500}
    for bad in ("CA", "CAL=7", "CA=7,CA=8", "C1=7", "CA=seven"):
        with pytest.raises(ValueError):
            parse_state_rates(bad)


@pytest.mark.parametrize(
    ("country", "vat_id"),
    [("DE", "DE123456789"), ("DE", "de 123.456-789"), ("NL", "NL123456789B01"),
     ("AT", "ATU12345678"), ("GR", "EL123456789"), ("FR", "FRAB123456789"),
     ("ES", "ESX1234567Z"), ("ES", "ES12345678Z"), ("IE", "IE1234567WA"), ("IE", "IE1A23456B"),
     ("SE", "SE123456789001"), ("BE", "BE0123456789"), ("LT", "LT123456789012")],
)  # fmt: skip
def test_format_valid_vat_ids(country: str, vat_id: str) -> None:
    assert vat_id_valid(country, vat_id)


@pytest.mark.parametrize(
    ("country", "vat_id"),
    [("DE", "DE12345678"), ("DE", "NL123456789B01"), ("NL", "NL123456789"),
     ("GR", "GR123456789"), ("AT", "AT12345678"), ("ES", "ES123456789"),
     ("SE", "SE123456789012"), ("BE", "BE2123456789"), ("FR", "FRIO123456789"),
     ("GB", "GB123456789"), ("US", "US123"), ("DE", "")],
)  # fmt: skip
def test_vat_ids_of_the_wrong_format_or_country(country: str, vat_id: str) -> None:
    assert not vat_id_valid(country, vat_id)


def test_no_country_a_country_outside_the_rules_and_us_by_default_are_not_taxed() -> None:
    for buyer in (Buyer(None), Buyer(""), Buyer("GB", None, "GB123456789"), Buyer("US", "CA")):
        assert tax_lines(RULES, buyer, [87_238, -5]) == tax_lines(RULES, Buyer(None), [87_238, -5])
        [line] = tax_lines(RULES, buyer, [87_238])
        assert (line.treatment, line.rate_ppm, line.amount, line.note) == (
            TaxTreatment.NOT_TAXED,
            0,
            0,
            None,
        )


def test_an_eu_consumer_pays_vat_of_their_country_per_line_rounded_half_up() -> None:
    # 87 238 x 19 % = 16 575.22 -> 16 575; -262 192 x 19 % = -49 816.48 -> -49 816;
    # 895 068 x 19 % = 170 062.92 -> 170 063; 50 x 19 % = 9.5 -> 10; -50 -> -10 (halves away).
    lines = tax_lines(RULES, Buyer("de"), [87_238, -262_192, 895_068, 50, -50, 0])
    assert [line.amount for line in lines] == [16_575, -49_816, 170_063, 10, -10, 0]
    assert {(line.treatment, line.rate_ppm, line.note) for line in lines} == {
        (TaxTreatment.VAT, 190_000, "VAT 19% (DE)")
    }


def test_the_sum_of_line_taxes_is_the_tax_even_where_tax_on_the_net_differs() -> None:
    # Worked example 2 in DE: per line 120 247; 19 % of the net 632 876 would be 120 246.
    lines = tax_lines(RULES, Buyer("DE"), [-262_192, 895_068])
    assert sum(line.amount for line in lines) == 120_247


def test_finland_at_25_5_percent() -> None:
    [line] = tax_lines(RULES, Buyer("FI"), [34_800])
    assert (line.amount, line.note) == (8_874, "VAT 25.5% (FI)")  # 8 874.0


def test_a_business_in_another_member_state_is_reverse_charged() -> None:
    where = jurisdiction(RULES, Buyer("DE", None, "de 123 456 789"))
    assert (where.treatment, where.rate_ppm) == (TaxTreatment.REVERSE_CHARGE, 0)
    assert where.note == "Reverse charge; buyer VAT id DE123456789"
    assert REVERSE_CHARGE_NOTE.endswith("(Article 196, Directive 2006/112/EC)")
    assert [line.amount for line in tax_lines(RULES, Buyer("DE", None, "DE123456789"), [9])] == [0]
    greek = jurisdiction(RULES, Buyer("GR", None, "EL123456789"))
    assert greek.treatment is TaxTreatment.REVERSE_CHARGE


def test_a_business_in_the_sellers_country_pays_domestic_vat() -> None:
    where = jurisdiction(RULES, Buyer("NL", None, "NL123456789B01"))
    assert (where.treatment, where.rate_ppm, where.note) == (
        TaxTreatment.VAT,
        210_000,
        "VAT 21% (NL)",
    )


def test_an_invalid_vat_id_is_charged_vat_and_says_why() -> None:
    where = jurisdiction(RULES, Buyer("DE", None, "DE12345"))
    assert (where.treatment, where.rate_ppm) == (TaxTreatment.VAT, 190_000)
    assert where.note == "VAT 19% (DE); VAT id not valid for DE"
    # A VAT id of another member state does not make a DE buyer a business there.
    assert jurisdiction(RULES, Buyer("DE", None, "FRAB123456789")).treatment is TaxTreatment.VAT


def test_us_sales_tax_only_for_configured_states() -> None:
    [ca] = tax_lines(WITH_US, Buyer("US", "ca"), [87_238])
    assert (ca.treatment, ca.rate_ppm, ca.amount, ca.note) == (
        TaxTreatment.SALES_TAX,
        72_500,
        6_325,  # 6 324.755
        "Sales tax 7.25% (US-CA)",
    )
    [mo] = tax_lines(WITH_US, Buyer("US", "MO"), [10_000])
    assert (mo.amount, mo.note) == (423, "Sales tax 4.225% (US-MO)")  # 422.5 -> 423
    for untaxed in (Buyer("US", "TX"), Buyer("US", None), Buyer("US", "California")):
        assert jurisdiction(WITH_US, untaxed).treatment is TaxTreatment.NOT_TAXED
