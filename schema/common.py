"""Shared building blocks: the Node interface, Money, Relay connections."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

import strawberry

from app.db.pagination import Page
from app.domain.money import Money as DomainMoney
from resolvers.ids import to_cursor
from schema.minor_units import MinorUnits

T = TypeVar("T")
N = TypeVar("N")


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
    def build(cls, page: Page[Any], nodes: Sequence[N], convert: Callable[[N], T]) -> Connection[T]:
        converted = [convert(node) for node in nodes]
        cursors = [to_cursor(row.id) for row in page.items]
        return Connection(
            edges=[Edge(cursor=c, node=n) for c, n in zip(cursors, converted, strict=True)],
            nodes=converted,
            page_info=PageInfo(
                has_next_page=page.has_next,
                has_previous_page=page.has_previous,
                start_cursor=cursors[0] if cursors else None,
                end_cursor=cursors[-1] if cursors else None,
            ),
        )
