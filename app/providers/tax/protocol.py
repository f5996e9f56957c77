"""The tax provider contract: the tax of each line of one buyer's quote or invoice.

A provider answers for a whole invoice at once (one call per quote), in the lines' order,
with one `LineTax` per amount; the caller sums them into the invoice's tax, so the sum of
the line taxes is the invoice's tax by construction. The embedded `local` provider applies
a rule table (app/domain/tax.py); `none` taxes nothing. An adapter for a tax service
(Avalara, Stripe Tax) would translate the same request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from app.domain.tax import Buyer, LineTax


@dataclass(frozen=True, slots=True)
class TaxRequest:
    currency: str
    buyer: Buyer
    amounts: tuple[int, ...]  # each line's amount in minor units (credits negative)


class TaxProvider(Protocol):
    async def calculate(self, request: TaxRequest) -> tuple[LineTax, ...]: ...
