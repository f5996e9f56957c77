"""Tax on quote and invoice lines (docs/tax.md): pure rules, no I/O.

Rates are integers in parts per million of the amount (19 % is 190 000), so every published
rate (Finland's 25.5 %, a US state's 4.225 %) is exact and no float is ever involved.

- A buyer without a country, or in a country the rules do not cover, is not taxed: the line
  shows `NOT_TAXED`, rate 0, amount 0 (today's figures, to the cent).
- EU buyer: a VAT id that is format-valid for the buyer's country, in another country than
  the seller's, is a reverse charge (0, the buyer accounts for the VAT). Anyone else in the
  EU (no VAT id, an invalid one, or a business in the seller's own country) pays VAT at the
  buyer country's standard rate. The VAT id is checked for its format only; no VIES call.
- US buyer: sales tax at the state's rate when the operator configured that state, else none.

Rounding (docs/domain.md section 3: round each line, the total is the sum of the rounded
lines): each line's tax is `round_half_up(amount * rate / 1 000 000)` (halves away from
zero, so a credit line's tax is the exact negative of the same charge's); the invoice's tax
is the sum of its lines' taxes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from app.domain.enums import TaxTreatment
from app.domain.errors import DomainError, ErrorCode
from app.domain.money import round_half_up
from app.domain.pricing.model import PricedOrder, QuoteLine

PPM = 1_000_000
_PERCENT = re.compile(r"^(\d{1,2})(?:\.(\d{1,4}))?$")

# The 27 member states (ISO 3166-1 alpha-2; Greece's VAT ids start "EL").
EU_COUNTRIES = frozenset(
    "AT BE BG CY CZ DE DK EE ES FI FR GR HR HU IE IT LT LU LV MT NL PL PT RO SE SI SK".split()  # noqa: SIM905
)
_VAT_PREFIX = {"GR": "EL"}
# The format of each member state's VAT number after its prefix (the European Commission's
# VIES format table). Format only: no check digits, and no VIES call.
_VAT_FORMATS: Mapping[str, re.Pattern[str]] = {
    country: re.compile(f"^(?:{pattern})$")
    for country, pattern in {
        "AT": r"U\d{8}",
        "BE": r"[01]\d{9}",
        "BG": r"\d{9,10}",
        "CY": r"\d{8}[A-Z]",
        "CZ": r"\d{8,10}",
        "DE": r"\d{9}",
        "DK": r"\d{8}",
        "EE": r"\d{9}",
        "ES": r"(?=.*[A-Z])[A-Z0-9]\d{7}[A-Z0-9]",
        "FI": r"\d{8}",
        "FR": r"[0-9A-HJ-NP-Z]{2}\d{9}",
        "GR": r"\d{9}",
        "HR": r"\d{11}",
        "HU": r"\d{8}",
        "IE": r"\d{7}[A-W][A-IW]?|\d[A-Z+*]\d{5}[A-W]",
        "IT": r"\d{11}",
        "LT": r"\d{9}|\d{12}",
        "LU": r"\d{8}",
        "LV": r"\d{11}",
        "MT": r"\d{8}",
        "NL": r"\d{9}B\d{2}",
        "PL": r"\d{10}",
        "PT": r"\d{9}",
        "RO": r"[1-9]\d{1,9}",
        "SE": r"\d{10}01",
        "SI": r"\d{8}",
        "SK": r"\d{10}",
    }.items()
}
# The statement a reverse-charged invoice prints (the line's own note is kept short: the
# quote token carries it once per line).
REVERSE_CHARGE_NOTE = (
    "Reverse charge: VAT to be accounted for by the recipient (Article 196, Directive 2006/112/EC)"
)


def parse_percent(text: str) -> int:
    """A percentage as written ("19", "25.5", "4.225") in parts per million; 0 to 99.9999."""
    found = _PERCENT.match(text.strip())
    if found is None:
        raise ValueError(f"a tax rate is a percentage such as 19 or 25.5, not {text!r}")
    whole, fraction = found.group(1), (found.group(2) or "").ljust(4, "0")
    return int(whole) * 10_000 + int(fraction)


def parse_state_rates(text: str) -> dict[str, int]:
    """TAX_US_STATE_RATES ("CA=7.25, TX=6.25") as state -> parts per million."""
    rates: dict[str, int] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        state, _, rate = item.partition("=")
        state = state.strip().upper()
        if not re.fullmatch(r"[A-Z]{2}", state) or state in rates:
            raise ValueError(f"TAX_US_STATE_RATES: {item!r} is not STATE=percent (once each)")
        rates[state] = parse_percent(rate)
    return rates


def format_percent(rate_ppm: int) -> str:
    """Parts per million as an exact percentage without trailing zeros: "19", "25.5"."""
    whole, fraction = divmod(rate_ppm, 10_000)
    return str(whole) if not fraction else f"{whole}.{fraction:04d}".rstrip("0")


def normalised_vat_id(vat_id: str) -> str:
    """Upper case, without the spaces, dots and dashes people write VAT numbers with."""
    return re.sub(r"[\s.\-]", "", vat_id).upper()


def vat_id_valid(country: str, vat_id: str) -> bool:
    """Whether `vat_id` has the format of a VAT number of EU member state `country`,
    country prefix included ("DE123456789", "EL123456789" for Greece)."""
    pattern = _VAT_FORMATS.get(country)
    if pattern is None:
        return False
    text, prefix = normalised_vat_id(vat_id), _VAT_PREFIX.get(country, country)
    return text.startswith(prefix) and pattern.match(text[len(prefix) :]) is not None


@dataclass(frozen=True, slots=True)
class Buyer:
    """Who is taxed: the paying billing account's country, region (a US state's two-letter
    code) and VAT id, as stored."""

    country: str | None
    region: str | None = None
    vat_id: str | None = None


@dataclass(frozen=True, slots=True)
class TaxRules:
    seller_country: str
    eu_standard_rates: Mapping[str, int] = field(default_factory=dict)  # country -> ppm
    us_state_rates: Mapping[str, int] = field(default_factory=dict)  # empty: sales tax off


@dataclass(frozen=True, slots=True)
class Jurisdiction:
    """How every line of one buyer's invoice is taxed."""

    treatment: TaxTreatment
    rate_ppm: int
    note: str | None


@dataclass(frozen=True, slots=True)
class LineTax:
    treatment: TaxTreatment
    rate_ppm: int
    amount: int
    note: str | None


UNTAXED = Jurisdiction(TaxTreatment.NOT_TAXED, 0, None)


def jurisdiction(rules: TaxRules, buyer: Buyer) -> Jurisdiction:
    country = (buyer.country or "").strip().upper()
    if country in EU_COUNTRIES:
        return _eu(rules, country, (buyer.vat_id or "").strip())
    if country == "US" and rules.us_state_rates:
        state = (buyer.region or "").strip().upper()
        rate = rules.us_state_rates.get(state)
        if rate:
            return Jurisdiction(
                TaxTreatment.SALES_TAX, rate, f"Sales tax {format_percent(rate)}% (US-{state})"
            )
    return UNTAXED


def _eu(rules: TaxRules, country: str, vat_id: str) -> Jurisdiction:
    valid = bool(vat_id) and vat_id_valid(country, vat_id)
    if valid and country != rules.seller_country:
        return Jurisdiction(
            TaxTreatment.REVERSE_CHARGE,
            0,
            f"Reverse charge; buyer VAT id {normalised_vat_id(vat_id)}",
        )
    rate = rules.eu_standard_rates.get(country)
    if rate is None:
        raise DomainError(ErrorCode.VALIDATION, f"No VAT rate is known for {country}.")
    note = f"VAT {format_percent(rate)}% ({country})"
    if vat_id and not valid:
        note += f"; VAT id not valid for {country}"
    return Jurisdiction(TaxTreatment.VAT, rate, note)


def line_tax(where: Jurisdiction, amount: int) -> LineTax:
    return LineTax(
        where.treatment, where.rate_ppm, round_half_up(amount * where.rate_ppm, PPM), where.note
    )


def tax_lines(rules: TaxRules, buyer: Buyer, amounts: Sequence[int]) -> tuple[LineTax, ...]:
    """Each amount's tax, in order; their sum is the invoice's tax."""
    where = jurisdiction(rules, buyer)
    return tuple(line_tax(where, amount) for amount in amounts)


def taxed_lines(
    lines: Sequence[QuoteLine], taxes: Sequence[LineTax]
) -> tuple[tuple[QuoteLine, ...], int]:
    """The lines with their taxes set, and the sum of those taxes."""
    if len(lines) != len(taxes):
        raise ValueError("one tax per line")
    taxed = tuple(
        replace(
            line,
            tax_treatment=tax.treatment,
            tax_rate_ppm=tax.rate_ppm,
            tax_amount=tax.amount,
            tax_note=tax.note,
        )
        for line, tax in zip(lines, taxes, strict=True)
    )
    return taxed, sum(tax.amount for tax in taxes)


def taxed_order(priced: PricedOrder, taxes: Sequence[LineTax]) -> PricedOrder:
    """The priced order with each line's tax, the tax total, and a total that includes it."""
    lines, tax = taxed_lines(priced.lines, taxes)
    total = max(0, priced.subtotal - priced.discount + tax)
    return replace(priced, lines=lines, tax=tax, total=total)
