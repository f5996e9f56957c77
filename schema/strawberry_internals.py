"""Every use of a private strawberry attribute, in one place.

Strawberry has no public API for these; each is pinned by tests/api/test_strawberry_internals.py,
which fails loudly (naming the attribute) when an upgrade renames or removes one, before a
request does. pyproject.toml pins strawberry to a minor version for the same reason.

- `graphql_schema`: the graphql-core schema strawberry built (`Schema._schema`), which the
  document checks (cost, size limits, validation) run against.
- `has_exception_handlers`: whether the schema converter wraps resolvers to map exceptions
  (`SchemaConverter._exception_handler_specs`); schema.fastpath replaces no resolver then.
- `info`: strawberry's Info for a graphql-core resolve info, built the way strawberry's own
  resolver wrapper builds it (`Info(_raw_info=..., _field=...)`), for schema.fastpath.
"""

from __future__ import annotations

from typing import Any

import strawberry
from graphql import GraphQLResolveInfo, GraphQLSchema
from strawberry.types.field import StrawberryField


class StrawberryInternalsChanged(RuntimeError):
    """A private strawberry attribute this project relies on is gone or changed shape."""


def graphql_schema(schema: strawberry.Schema) -> GraphQLSchema:
    found = getattr(schema, "_schema", None)
    if not isinstance(found, GraphQLSchema):
        raise StrawberryInternalsChanged("strawberry.Schema._schema is no GraphQLSchema")
    return found


def has_exception_handlers(schema: strawberry.Schema) -> bool:
    converter = schema.schema_converter
    if not hasattr(converter, "_exception_handler_specs"):
        raise StrawberryInternalsChanged("SchemaConverter._exception_handler_specs is gone")
    return bool(converter._exception_handler_specs)


def info(
    info_class: type[strawberry.Info[Any, Any]],
    raw: GraphQLResolveInfo[Any],
    field: StrawberryField,
) -> strawberry.Info[Any, Any]:
    return info_class(_raw_info=raw, _field=field)


def check(schema: strawberry.Schema) -> None:
    """Raises StrawberryInternalsChanged unless every attribute above is as expected."""
    graphql_schema(schema)
    has_exception_handlers(schema)
    info_class = schema.config.info_class
    fields = getattr(info_class, "__dataclass_fields__", {})
    if not {"_raw_info", "_field"} <= set(fields):
        raise StrawberryInternalsChanged("strawberry.Info is not built from _raw_info and _field")
