"""Tax on an order's quote and on the invoices the lifecycle jobs write (docs/tax.md).

The buyer is the billing account that pays: the subscription's, or for a new subscription
the one its invoice will bill (the customer's, or the managing partner's). Its country,
region and VAT id decide the tax; an account without a country is not taxed, so it sees
exactly the figures it saw before tax existed. The quote carries each line's tax, and
placing re-prices it (tax included) and refuses a quote whose tax moved (QUOTE_STALE), so
the invoice equals the quote to the cent."""

from __future__ import annotations

from collections.abc import Sequence

from app.db.tables import BillingAccount
from app.domain.buyers import NewCustomer
from app.domain.pricing import PricedOrder, QuoteLine
from app.domain.tax import Buyer, taxed_lines, taxed_order
from app.providers.tax import TaxProvider, TaxRequest


def buyer(account: BillingAccount | None) -> Buyer:
    if account is None:
        return Buyer(None)
    return Buyer(account.billing_country, account.billing_region, account.tax_id)


def new_buyer(new: NewCustomer) -> Buyer:
    """A first purchase's buyer: the billing account it will create, from what it gives."""
    return Buyer(new.address.country, new.address.region, new.vat_id)


async def tax_order(tax: TaxProvider, buyer: Buyer, priced: PricedOrder) -> PricedOrder:
    """The priced order with its lines taxed for `buyer`."""
    taxes = await tax.calculate(
        TaxRequest(priced.currency, buyer, tuple(line.amount for line in priced.lines))
    )
    return taxed_order(priced, taxes)


async def tax_invoice_lines(
    tax: TaxProvider, account: BillingAccount | None, currency: str, lines: Sequence[QuoteLine]
) -> tuple[QuoteLine, ...]:
    """Lines of a lifecycle invoice (renewal, reconciliation) taxed."""
    taxes = await tax.calculate(
        TaxRequest(currency, buyer(account), tuple(line.amount for line in lines))
    )
    return taxed_lines(lines, taxes)[0]
