"""Request checks shared by the local providers; each failure is a ProviderRejected with code
"invalid_request", as a remote API would answer a malformed request."""

from __future__ import annotations

import re

from app.providers.errors import ProviderRejected

PROVIDER = "local"
_CURRENCY = re.compile(r"[A-Z]{3}")
_COUNTRY = re.compile(r"[A-Z]{2}")


def invalid(message: str) -> ProviderRejected:
    return ProviderRejected(PROVIDER, "invalid_request", message)


def check_currency(currency: str) -> None:
    if not _CURRENCY.fullmatch(currency):
        raise invalid(f"currency must be an upper-case ISO 4217 code, not {currency!r}")


def check_country(country: str | None) -> None:
    if country is not None and not _COUNTRY.fullmatch(country):
        raise invalid(f"country must be an upper-case ISO 3166 alpha-2 code, not {country!r}")


def check_text(field: str, value: str) -> None:
    if not value.strip():
        raise invalid(f"{field} must not be blank")


def check_amounts(*values: object) -> None:
    """Quantities and amounts are integers (minor units); a float or bool is a caller bug."""
    if any(type(value) is not int for value in values):
        raise invalid("quantities and amounts must be integers in minor units")
