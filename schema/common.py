"""Shared building blocks: the Node interface, Money and its MinorUnits scalar, Relay
connections."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any, Generic, NewType, TypeVar

import strawberry
from graphql import IntValueNode, StringValueNode, ValueNode
from strawberry.types.scalar import ScalarDefinition

from app.db.pagination import Page
from app.domain.money import MAX_MINOR_UNITS, MIN_MINOR_UNITS
from app.domain.money import Money as DomainMoney
from resolvers.ids import to_cursor

T = TypeVar("T")

# An amount in minor units; on the wire a JSON string of digits, so no client loses a cent
# to a 32-bit GraphQL Int or to a 53-bit JavaScript number.
MinorUnits = NewType("MinorUnits", int)

_DIGITS = re.compile(r"-?[0-9]{1,19}")


def _serialize_minor_units(value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"MinorUnits cannot represent {value!r}: not an integer")
    return str(value)


def _parse_minor_units(value: object) -> int:
    """A string of digits (a leading '-' for negatives) or an Int, within signed 64 bits."""
    if isinstance(value, str) and _DIGITS.fullmatch(value):
        parsed = int(value)
    elif isinstance(value, int) and not isinstance(value, bool):
        parsed = value
    else:
        raise ValueError(f'MinorUnits must be a string of digits, like "3480000": {value!r}')
    if not MIN_MINOR_UNITS <= parsed <= MAX_MINOR_UNITS:
        raise ValueError(f"MinorUnits must fit in a signed 64-bit integer: {value!r}")
    return parsed


def _parse_minor_units_literal(node: ValueNode, _variables: Any = None) -> int:
    if isinstance(node, StringValueNode):
        return _parse_minor_units(node.value)
    if isinstance(node, IntValueNode):
        return _parse_minor_units(int(node.value))
    raise ValueError("MinorUnits must be a string of digits or an Int literal")


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


@strawberry.interface(description="An object with a global id, fetchable with `node(id)`.")
class Node:
    id: strawberry.ID


@strawberry.type(description="An amount in minor units (cents) of an ISO 4217 currency.")
class Money:
    amount: MinorUnits
    currency: str

    @strawberry.field
    def formatted(self) -> str:
        # Built only when asked: most answers read the amount of most of their Money objects.
        return DomainMoney(self.amount, self.currency).formatted

    @classmethod
    def of(cls, amount: int, currency: str) -> Money:
        return cls(amount=MinorUnits(amount), currency=currency)


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class Edge(Generic[T]):
    cursor: str
    node: T


@strawberry.type
class Connection(Generic[T]):
    edges: list[Edge[T]]
    nodes: list[T]
    page_info: PageInfo

    @classmethod
    def build(cls, page: Page[Any], nodes: Sequence[Any], convert: Callable[[Any], T]) -> Any:
        converted = [convert(node) for node in nodes]
        cursors = [to_cursor(row.id) for row in page.items]
        return cls(
            edges=[Edge(cursor=c, node=n) for c, n in zip(cursors, converted, strict=True)],
            nodes=converted,
            page_info=PageInfo(
                has_next_page=page.has_next,
                has_previous_page=page.has_previous,
                start_cursor=cursors[0] if cursors else None,
                end_cursor=cursors[-1] if cursors else None,
            ),
        )
