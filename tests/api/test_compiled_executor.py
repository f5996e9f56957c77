"""The compiled executor against graphql-core's on a small schema made to reach what the demo
data does not: resolvers that return awaitables, raise, or answer null for non-null fields
(in objects and in lists, so the null propagates), lists with awaitable items, async
iterables, exceptions returned as values, wrong object types, aliases merged over
fragments. Each document runs on both executors; data, errors and their order must be
equal."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
import strawberry
from strawberry.extensions import SchemaExtension

from schema.build import Schema
from schema.compiled.executor import CompiledDocuments, executor_class


@strawberry.type
class Item:
    name: str
    rank: int | None

    @strawberry.field
    async def later(self) -> str:
        await asyncio.sleep(0)
        return f"later-{self.name}"

    @strawberry.field
    def fails(self) -> str | None:
        raise ValueError(f"no {self.name}")

    @strawberry.field
    def must(self) -> str:
        return None  # type: ignore[return-value]

    @strawberry.field
    async def must_later(self) -> str:
        await asyncio.sleep(0)
        return None  # type: ignore[return-value]


def _items() -> list[Item]:
    return [Item(name="a", rank=1), Item(name="b", rank=None)]


async def _later_item(name: str) -> Item:
    await asyncio.sleep(0)
    return Item(name=name, rank=2)


async def _stream() -> AsyncIterator[Item]:
    for item in _items():
        yield item


@dataclass
class Context:
    trusted_document: str | None = "doc"


@strawberry.type
class Query:
    @strawberry.field
    def items(self) -> list[Item]:
        return _items()

    @strawberry.field
    async def async_items(self) -> list[Item | None]:
        await asyncio.sleep(0)
        return [*_items(), None]

    @strawberry.field
    def awaitable_items(self) -> list[Item]:
        return [_later_item("x"), _later_item("y")]  # type: ignore[list-item]

    @strawberry.field
    def strict_items(self) -> list[Item]:
        return [Item(name="c", rank=3), None]  # type: ignore[list-item]

    @strawberry.field
    def streamed(self) -> list[Item]:
        return _stream()  # type: ignore[return-value]

    @strawberry.field
    def error_value(self) -> str | None:
        return ValueError("returned, not raised")  # type: ignore[return-value]

    @strawberry.field
    def wrong_type(self) -> Item | None:
        return "not an item"  # type: ignore[return-value]

    @strawberry.field
    def not_a_list(self) -> list[Item] | None:
        return 42  # type: ignore[return-value]

    @strawberry.field
    def echo(self, text: str, times: int = 1) -> str:
        return text * times

    @strawberry.field
    def one(self) -> Item:
        return Item(name="one", rank=None)


DOCUMENTS = [
    "{ items { name rank later fails } }",
    "{ items { name must } }",
    "{ items { name mustLater } }",
    "{ asyncItems { name later } }",
    "{ awaitableItems { name later fails } }",
    "{ strictItems { name } }",
    "{ streamed { name later } }",
    "{ errorValue wrongType { name } notAList { name } }",
    'query Q($t: String!) { a: echo(text: $t) b: echo(text: "x", times: 3) one { __typename } }',
    "{ one { n: name ...F ... on Item { n: name rank } } } fragment F on Item { later }",
    "{ one { must } items { name } }",
]


def _schema(compiled: bool) -> strawberry.Schema:
    """The app's Schema class (it hands graphql-core no middleware manager)."""
    executor = executor_class() if compiled else None
    built = Schema(query=Query, execution_context_class=executor)
    if executor is not None:
        executor.documents = CompiledDocuments(built)
    return built


def _answer(result: Any) -> tuple[Any, list[dict[str, Any]]]:
    return result.data, [error.formatted for error in result.errors or ()]


@pytest.mark.parametrize("document", DOCUMENTS)
async def test_both_executors_answer_the_same(document: str) -> None:
    variables = {"t": "hi"}
    compiled = _schema(True)
    normal = await _schema(False).execute(document, variables, context_value=Context(None))
    answer = await compiled.execute(document, variables, context_value=Context())

    assert _answer(answer) == _answer(normal)
    documents = compiled.execution_context_class.documents  # type: ignore[attr-defined]
    assert documents.counts["compiled"] == 1


async def test_an_untrusted_document_is_not_counted() -> None:
    compiled = _schema(True)

    result = await compiled.execute("{ one { name } }", context_value=Context(None))

    assert result.data == {"one": {"name": "one"}}
    assert not compiled.execution_context_class.documents.counts  # type: ignore[attr-defined]


async def test_a_directive_falls_back_and_is_counted() -> None:
    compiled = _schema(True)
    document = "{ one { name @skip(if: true) rank } }"

    result = await compiled.execute(document, context_value=Context())

    assert result.data == {"one": {"rank": None}}
    counts = compiled.execution_context_class.documents.counts  # type: ignore[attr-defined]
    assert counts == {"fallback:directive": 1}


class _Resolving(SchemaExtension):
    def resolve(self, _next: Any, root: Any, info: Any, *args: Any, **kwargs: Any) -> Any:
        return _next(root, info, *args, **kwargs)


async def test_a_middleware_falls_back() -> None:
    """An extension that hooks `resolve` is graphql-core middleware: not compiled. (Strawberry
    always hands graphql-core a manager; an empty one is compiled, as in the tests above.)"""
    executor = executor_class()
    built = strawberry.Schema(
        query=Query, execution_context_class=executor, extensions=[_Resolving]
    )
    executor.documents = CompiledDocuments(built)

    result = await built.execute("{ one { name } }", context_value=Context())

    assert result.data == {"one": {"name": "one"}}
    assert executor.documents.counts == {"fallback:middleware": 1}
