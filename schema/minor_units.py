"""MinorUnits: the scalar of `Money.amount` (docs/api-guide.md, "Money on the wire")."""

from __future__ import annotations

import re
from typing import Any, NewType

import strawberry
from graphql import IntValueNode, StringValueNode, ValueNode
from strawberry.types.scalar import ScalarDefinition

from app.domain.errors import ErrorCode
from app.domain.money import MAX_MINOR_UNITS, MIN_MINOR_UNITS
from resolvers.errors import PublicError

# An amount in minor units; on the wire a JSON string of digits, so no client loses a cent
# to a 32-bit GraphQL Int or to a 53-bit JavaScript number.
MinorUnits = NewType("MinorUnits", int)

_DIGITS = re.compile(r"-?[0-9]{1,19}")


def _serialize_minor_units(value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"MinorUnits cannot represent {value!r}: not an integer")
    return str(value)


def _invalid(message: str) -> PublicError:
    """A typed VALIDATION error: graphql-core reports a GraphQLError a scalar raises as it is
    (anything else it wraps, and an unknown exception is masked as INTERNAL)."""
    return PublicError(ErrorCode.VALIDATION, message)


def _parse_minor_units(value: object) -> int:
    """A string of digits (a leading '-' for negatives) or an Int, within signed 64 bits."""
    if isinstance(value, str) and _DIGITS.fullmatch(value):
        parsed = int(value)
    elif isinstance(value, int) and not isinstance(value, bool):
        parsed = value
    else:
        raise _invalid(f'MinorUnits must be a string of digits, like "3480000": {value!r}')
    if not MIN_MINOR_UNITS <= parsed <= MAX_MINOR_UNITS:
        raise _invalid(f"MinorUnits must fit in a signed 64-bit integer: {value!r}")
    return parsed


def _parse_minor_units_literal(node: ValueNode, _variables: Any = None) -> int:
    if isinstance(node, StringValueNode):
        return _parse_minor_units(node.value)
    if isinstance(node, IntValueNode):
        return _parse_minor_units(int(node.value))
    raise _invalid("MinorUnits must be a string of digits or an Int literal")


MINOR_UNITS_SCALAR: ScalarDefinition = strawberry.scalar(
    name="MinorUnits",
    description=(
        "An integer amount in minor units of a currency (cents for USD, yen for JPY), "
        "serialised as a JSON string of decimal digits with a leading '-' when negative "
        '(for example "3480000" is $34,800.00), so that amounts beyond 2^31 (GraphQL Int) '
        "and 2^53 (JavaScript numbers) arrive exact. Parse it with a big-integer or decimal "
        "type. Accepted on input as such a string or as an Int; at most a signed 64-bit value."
    ),
    serialize=_serialize_minor_units,
    parse_value=_parse_minor_units,
    parse_literal=_parse_minor_units_literal,
)
SCALARS: dict[object, ScalarDefinition] = {MinorUnits: MINOR_UNITS_SCALAR}
