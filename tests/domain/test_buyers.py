"""A new customer's details: cleaned, or refused with a typed error (app/domain/buyers.py)."""

from __future__ import annotations

import pytest

from app.domain.buyers import ContactDetails, NewCustomer, PostalAddress, checked, vat_id
from app.domain.errors import DomainError, ErrorCode
from app.domain.tax import vat_id_valid


def new(country: str = "DE", vat: str | None = "DE123456789", **kw: object) -> NewCustomer:
    base = NewCustomer(
        name=" Newco ",
        sold_to=ContactDetails(" Nina ", "nina@newco.example"),
        bill_to=ContactDetails("AP", "ap@newco.example"),
        address=PostalAddress(country=country, city=" Berlin "),
        currency="usd",
        vat_id=vat,
    )
    return NewCustomer(**{**base.__dict__, **kw}) if kw else base  # type: ignore[arg-type]


def test_details_are_cleaned() -> None:
    found = checked(new(country="de", vat="de 123.456-789"))
    assert (found.name, found.sold_to.name, found.currency) == ("Newco", "Nina", "USD")
    assert (found.address.country, found.address.city, found.vat_id) == (
        "DE",
        "Berlin",
        "DE123456789",
    )


@pytest.mark.parametrize(
    ("raw", "country", "expected"),
    [
        ("ATU12345678", "AT", "ATU12345678"),
        ("EL123456789", "GR", "EL123456789"),
        ("FRXX123456789", "FR", "FRXX123456789"),
        ("GB123456789", "GB", "GB123456789"),
        ("CHE-123.456.789 MWST", "CH", "CHE123456789MWST"),
        ("12-3456789", "US", "123456789"),
        ("", "DE", None),
        (None, "DE", None),
    ],
)
def test_vat_ids_that_fit_their_country(
    raw: str | None, country: str, expected: str | None
) -> None:
    assert vat_id(raw, country) == expected


@pytest.mark.parametrize(
    ("raw", "country"),
    [
        ("DE12345678", "DE"),  # one digit short
        ("GR123456789", "GR"),  # Greece's prefix is EL
        ("NL123456789", "NL"),  # no B01 suffix
        ("DE123456789", "AT"),  # another country's
        ("X!", "US"),
    ],
)
def test_vat_ids_that_do_not_fit_are_vat_id_invalid(raw: str, country: str) -> None:
    with pytest.raises(DomainError) as caught:
        vat_id(raw, country)
    assert caught.value.code is ErrorCode.VAT_ID_INVALID


@pytest.mark.parametrize("country", ["", "  ", "DEU", "1A"])
def test_a_missing_or_malformed_country_is_a_validation_error(country: str) -> None:
    with pytest.raises(DomainError) as caught:
        checked(new(country=country, vat=None))
    assert caught.value.code is ErrorCode.VALIDATION


def test_the_payload_round_trips() -> None:
    found = checked(new())
    assert NewCustomer.from_payload(found.to_payload()) == found


@pytest.mark.parametrize(
    ("raw", "country"), [("SE123456789012", "SE"), ("RO0123", "RO"), ("ES123456789", "ES")]
)
def test_an_eu_vat_id_is_accepted_only_if_the_tax_rules_take_it(raw: str, country: str) -> None:
    """One format table: an id accepted at a first purchase is one tax reverse-charges."""
    assert not vat_id_valid(country, raw)
    with pytest.raises(DomainError) as caught:
        vat_id(raw, country)
    assert caught.value.code is ErrorCode.VAT_ID_INVALID
