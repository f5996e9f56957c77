"""The MinorUnits scalar: a JSON string of digits out; a string of digits or an Int in,
within signed 64 bits; anything else refused."""

from __future__ import annotations

from typing import Any

import pytest
from graphql import GraphQLScalarType, parse_value

from resolvers.errors import PublicError
from schema.build import schema
from tests.support.graphql import Api, error_codes


def _scalar() -> GraphQLScalarType:
    found = schema._schema.get_type("MinorUnits")
    assert isinstance(found, GraphQLScalarType)
    return found


@pytest.mark.parametrize(
    ("amount", "wire"),
    [(0, "0"), (3_480_000, "3480000"), (-262_192, "-262192"), (2**63 - 1, "9223372036854775807")],
)
def test_amounts_serialise_as_strings_of_digits(amount: int, wire: str) -> None:
    assert _scalar().serialize(amount) == wire


@pytest.mark.parametrize("value", [True, 1.5, "12", None])
def test_only_integers_serialise(value: Any) -> None:
    with pytest.raises(TypeError):
        _scalar().serialize(value)


@pytest.mark.parametrize(
    ("value", "amount"),
    [
        ("3480000", 3_480_000),
        ("-262192", -262_192),
        (4_734_000_000, 4_734_000_000),
        ("-9223372036854775808", -(2**63)),
    ],
)
def test_strings_of_digits_and_ints_parse(value: Any, amount: int) -> None:
    assert _scalar().parse_value(value) == amount


@pytest.mark.parametrize(
    "value", ["", "12.5", "1e9", " 12", "+12", "١٢", "9223372036854775808", 2**63, True, 12.0, None]
)
def test_anything_else_is_refused(value: Any) -> None:
    with pytest.raises(PublicError, match="MinorUnits"):
        _scalar().parse_value(value)


@pytest.mark.parametrize(("literal", "amount"), [('"4734000000"', 4_734_000_000), ("-5", -5)])
def test_string_and_int_literals_parse(literal: str, amount: int) -> None:
    assert _scalar().parse_literal(parse_value(literal)) == amount


@pytest.mark.parametrize("literal", ["12.5", "true", '"12x"'])
def test_other_literals_are_refused(literal: str) -> None:
    with pytest.raises(PublicError, match="MinorUnits"):
        _scalar().parse_literal(parse_value(literal))


@pytest.mark.parametrize("literal", ["9223372036854775808", '"99999999999999999999"', "1.5"])
async def test_a_bad_literal_in_a_document_is_a_validation_error(api: Api, literal: str) -> None:
    """Not INTERNAL: the scalar's refusal reaches the client as a typed VALIDATION error."""
    document = f"""mutation {{ promotionCreate(input: {{ code: "big", amountOff: {literal},
      currency: "USD" }}, reason: "r") {{ __typename }} }}"""

    answer = await api.query(document)

    assert error_codes(answer) == ["VALIDATION"], answer
    assert "MinorUnits" in answer["errors"][0]["message"]
    assert "data" not in answer or answer["data"] is None
