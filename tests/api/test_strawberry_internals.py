"""The private strawberry attributes schema/strawberry_internals.py relies on: each test names
one, so that an upgrade that renames or reshapes it fails here, loudly, and not in a request."""

from __future__ import annotations

import pathlib
import re
from typing import Any

import pytest
import strawberry
from graphql import GraphQLSchema
from strawberry.types.field import StrawberryField

from schema import strawberry_internals
from schema.build import schema

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_the_graphql_core_schema_is_strawberry_schema_private_schema() -> None:
    found = strawberry_internals.graphql_schema(schema)
    assert isinstance(found, GraphQLSchema)
    assert found.query_type is not None and found.query_type.name == "Query"


def test_the_exception_handler_specs_are_readable_and_empty_by_default() -> None:
    assert strawberry_internals.has_exception_handlers(schema) is False


def test_info_is_built_from_the_raw_info_and_the_field() -> None:
    @strawberry.type
    class Query:
        @strawberry.field
        def name(self, info: strawberry.Info) -> str:
            return info.field_name

    built = strawberry.Schema(query=Query)
    field: StrawberryField = built.get_type_by_name("Query").fields[0]  # type: ignore[union-attr]
    raw: Any = type("Raw", (), {"field_name": "name"})()
    made = strawberry_internals.info(built.config.info_class, raw, field)
    assert made.field_name == "name"
    assert made._field is field


def test_check_passes_on_this_strawberry() -> None:
    strawberry_internals.check(schema)


def test_check_fails_loudly_when_an_attribute_is_gone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(type(schema.schema_converter), "_exception_handler_specs", raising=False)
    monkeypatch.delattr(schema.schema_converter, "_exception_handler_specs", raising=False)
    with pytest.raises(strawberry_internals.StrawberryInternalsChanged, match="_exception"):
        strawberry_internals.check(schema)


def test_no_other_module_reaches_into_strawberry_privates() -> None:
    """`._schema`, `._exception_handler_specs`, `_raw_info=`, `_get_middleware_manager`
    outside schema/strawberry_internals.py would escape the tests above."""
    private = re.compile(
        r"\._schema\b|_exception_handler_specs|_raw_info|_get_middleware_manager|\._field\b"
    )
    offenders = [
        f"{path.relative_to(ROOT)}:{number}"
        for folder in ("app", "schema", "resolvers")
        for path in sorted((ROOT / folder).rglob("*.py"))
        if path.name != "strawberry_internals.py"
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if private.search(line)
    ]
    assert offenders == []
