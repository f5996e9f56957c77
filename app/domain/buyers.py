"""A new customer's details as a first purchase gives them, and the checks they must pass
before anything is created: the country (ISO 3166-1 alpha-2) and the VAT id's format."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, replace
from typing import Any

from app.domain.errors import DomainError, ErrorCode
from app.domain.tax import EU_COUNTRIES, normalised_vat_id, vat_id_valid

# EU VAT ids are checked by the tax rules (app/domain/tax.py), so an id accepted here is
# one they reverse-charge; here the VAT-like ids of GB, CH and NO. Elsewhere a tax id is 4-20
# letters and digits: its format is not checked further.
VAT_FORMATS: dict[str, str] = {
    "GB": r"GB(\d{9}|\d{12}|GD\d{3}|HA\d{3})",
    "CH": r"CHE\d{9}(MWST|TVA|IVA)?",
    "NO": r"NO\d{9}(MVA)?",
}
_OTHER_TAX_ID = r"[A-Z0-9]{4,20}"
_COUNTRY = re.compile(r"[A-Z]{2}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_CURRENCY = re.compile(r"[A-Z]{3}")


@dataclass(frozen=True, slots=True)
class ContactDetails:
    name: str
    email: str


@dataclass(frozen=True, slots=True)
class PostalAddress:
    country: str
    line1: str | None = None
    line2: str | None = None
    city: str | None = None
    postal_code: str | None = None
    region: str | None = None


@dataclass(frozen=True, slots=True)
class NewCustomer:
    """Who buys for the first time: the organisation, its sold-to and bill-to contacts, the
    billing address (its country is the customer's) and its VAT id, in `currency`."""

    name: str
    sold_to: ContactDetails
    bill_to: ContactDetails
    address: PostalAddress
    currency: str = "USD"
    vat_id: str | None = None
    payment_method: str | None = None

    def to_payload(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_payload(cls, raw: dict[str, Any]) -> NewCustomer:
        return cls(
            **{
                **raw,
                "sold_to": ContactDetails(**raw["sold_to"]),
                "bill_to": ContactDetails(**raw["bill_to"]),
                "address": PostalAddress(**raw["address"]),
            }
        )


def invalid(message: str) -> DomainError:
    return DomainError(ErrorCode.VALIDATION, message)


def checked(new: NewCustomer) -> NewCustomer:
    """The details cleaned (blanks trimmed, codes upper-cased), or a typed error: VALIDATION
    for a missing or malformed field (the country among them), VAT_ID_INVALID for a VAT id
    whose format does not fit the country."""
    name = _text(new.name, "name", 200)
    sold_to = _contact(new.sold_to, "soldTo")
    bill_to = _contact(new.bill_to, "billTo")
    country = (new.address.country or "").strip().upper()
    if not country:
        raise invalid("The billing address needs a country (ISO 3166-1 alpha-2, e.g. `DE`).")
    if not _COUNTRY.fullmatch(country):
        raise invalid(f"`{new.address.country}` is not an ISO 3166-1 alpha-2 country code.")
    currency = (new.currency or "").strip().upper()
    if not _CURRENCY.fullmatch(currency):
        raise invalid("The currency must be an ISO 4217 code such as `USD`.")
    address = replace(
        new.address,
        country=country,
        line1=_optional(new.address.line1, "line1", 200),
        line2=_optional(new.address.line2, "line2", 200),
        city=_optional(new.address.city, "city", 100),
        postal_code=_optional(new.address.postal_code, "postalCode", 20),
        region=_optional(new.address.region, "region", 100),
    )
    payment_method = _optional(new.payment_method, "paymentMethodToken", 64)
    return NewCustomer(
        name=name,
        sold_to=sold_to,
        bill_to=bill_to,
        address=address,
        currency=currency,
        vat_id=vat_id(new.vat_id, country),
        payment_method=payment_method,
    )


def vat_id(raw: str | None, country: str) -> str | None:
    """The VAT id without blanks, dots and dashes, upper-cased; None if none was given."""
    if raw is None or not raw.strip():
        return None
    cleaned = normalised_vat_id(raw)
    pattern = VAT_FORMATS.get(country)
    if country in EU_COUNTRIES:
        valid = vat_id_valid(country, cleaned)
    elif pattern is not None:
        valid = re.fullmatch(f"(?:{pattern})", cleaned) is not None
    else:
        if not re.fullmatch(_OTHER_TAX_ID, cleaned):
            raise DomainError(ErrorCode.VAT_ID_INVALID, "A tax id is 4-20 letters and digits.")
        return cleaned
    if not valid:
        prefix = "EL" if country == "GR" else country
        raise DomainError(
            ErrorCode.VAT_ID_INVALID,
            f"`{raw.strip()}` is not a VAT id of {country} (it starts with `{prefix}`, "
            "then the digits that country uses).",
        )
    return cleaned


def _contact(contact: ContactDetails, field: str) -> ContactDetails:
    email = _text(contact.email, f"{field}.email", 320)
    if not _EMAIL.fullmatch(email):
        raise invalid(f"`{field}.email` is not an email address.")
    return ContactDetails(name=_text(contact.name, f"{field}.name", 200), email=email)


def _text(value: str | None, field: str, limit: int) -> str:
    cleaned = (value or "").strip()
    if not cleaned:
        raise invalid(f"`{field}` must not be blank.")
    if len(cleaned) > limit:
        raise invalid(f"`{field}` must be at most {limit} characters.")
    return cleaned


def _optional(value: str | None, field: str, limit: int) -> str | None:
    cleaned = (value or "").strip()
    if len(cleaned) > limit:
        raise invalid(f"`{field}` must be at most {limit} characters.")
    return cleaned or None
