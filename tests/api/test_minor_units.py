"""The MinorUnits scalar: a JSON string of digits out; a string of digits or an Int in,
within signed 64 bits; anything else refused."""

from __future__ import annotations

from typing import Any

import pytest
from graphql import GraphQLScalarType, parse_value

from schema.build import schema


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
    with pytest.raises(ValueError, match="MinorUnits"):
        _scalar().parse_value(value)


@pytest.mark.parametrize(("literal", "amount"), [('"4734000000"', 4_734_000_000), ("-5", -5)])
def test_string_and_int_literals_parse(literal: str, amount: int) -> None:
    assert _scalar().parse_literal(parse_value(literal)) == amount


@pytest.mark.parametrize("literal", ["12.5", "true", '"12x"'])
def test_other_literals_are_refused(literal: str) -> None:
    with pytest.raises(ValueError, match="MinorUnits"):
        _scalar().parse_literal(parse_value(literal))
