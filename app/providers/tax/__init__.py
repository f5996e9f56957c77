"""Tax providers: the protocol, the embedded rule table, and none."""

from app.providers.tax.local import LocalTaxProvider, NoTaxProvider
from app.providers.tax.protocol import TaxProvider, TaxRequest

__all__ = ["LocalTaxProvider", "NoTaxProvider", "TaxProvider", "TaxRequest"]
