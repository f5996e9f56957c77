"""The embedded tax provider: EU VAT by country from the repository's rate table, reverse
charge for a format-valid business VAT id (no VIES call), US sales tax only for the states
the operator configured (TAX_US_STATE_RATES; none by default). `NoTaxProvider` (TAX_PROVIDER
=none) taxes nothing."""

from __future__ import annotations

import csv
from functools import cache
from pathlib import Path

from app.domain.enums import TaxTreatment
from app.domain.tax import LineTax, TaxRules, parse_percent, tax_lines
from app.providers.tax.protocol import TaxRequest

EU_RATES_FILE = Path(__file__).parent / "eu_standard_vat_rates.csv"


@cache
def eu_standard_rates() -> dict[str, int]:
    """The repository's table: country -> standard rate in parts per million."""
    with EU_RATES_FILE.open(encoding="utf-8") as handle:
        rows = csv.DictReader(line for line in handle if not line.startswith("#"))
        return {row["country"]: parse_percent(row["standard_rate_percent"]) for row in rows}


def eu_rates_taken_on() -> str:
    """The date the table was taken, from its header."""
    for line in EU_RATES_FILE.read_text(encoding="utf-8").splitlines():
        if line.startswith("# taken_on:"):
            return line.split(":", 1)[1].split()[0]
    raise ValueError(f"{EU_RATES_FILE.name} has no taken_on line")


class LocalTaxProvider:
    def __init__(self, seller_country: str = "NL", us_state_rates: dict[str, int] | None = None):
        self.rules = TaxRules(
            seller_country=seller_country.upper(),
            eu_standard_rates=eu_standard_rates(),
            us_state_rates=dict(us_state_rates or {}),
        )

    async def calculate(self, request: TaxRequest) -> tuple[LineTax, ...]:
        return tax_lines(self.rules, request.buyer, request.amounts)


class NoTaxProvider:
    async def calculate(self, request: TaxRequest) -> tuple[LineTax, ...]:
        return tuple(LineTax(TaxTreatment.NOT_TAXED, 0, 0, None) for _ in request.amounts)
