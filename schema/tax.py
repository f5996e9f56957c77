"""The tax of one quote or invoice line (docs/tax.md)."""

from __future__ import annotations

import strawberry

from app.domain.enums import TaxTreatment as DomainTaxTreatment
from app.domain.tax import format_percent
from schema.common import Money
from schema.enums import TaxTreatment


@strawberry.type(description="How a line is taxed: the rule applied, its rate and amount.")
class LineTax:
    treatment: TaxTreatment
    rate_percent: str = strawberry.field(
        description='The rate as an exact decimal percentage: "19", "25.5", "0".'
    )
    amount: Money = strawberry.field(description="Rounded half up, per line.")
    note: str | None = strawberry.field(
        description='What the invoice prints with it: "VAT 19% (DE)", the reverse-charge '
        "statement; null when the line is not taxed."
    )

    @classmethod
    def of(
        cls,
        treatment: DomainTaxTreatment,
        rate_ppm: int,
        amount: int,
        note: str | None,
        currency: str,
    ) -> LineTax:
        return cls(
            treatment=treatment,
            rate_percent=format_percent(rate_ppm),
            amount=Money.of(amount, currency),
            note=note,
        )
