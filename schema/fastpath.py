"""Direct resolvers for the fields strawberry would wrap without adding anything.

Strawberry resolves every field through a generic wrapper: a field without a resolver goes
through `_get_basic_result` -> `StrawberryField.get_result` -> `getattr`; a field with a
resolver builds an Info, converts the (absent) arguments, folds the (absent) field extensions
and, for an async resolver, wraps the coroutine in another one. A dashboard answer resolves
thousands of fields, so that wrapping was the second largest cost after graphql-core itself.

After the schema is built, `install` replaces the graphql-core `resolve` of fields that have
nothing for the wrapper to do: no arguments, no field extensions or permission classes, no
`root`/`parent` parameter, and no exception handler configured on the schema. The
replacement makes the same call (`getattr(source, name)`, or the resolver with `self` and
`info`) and returns what it returns; graphql-core awaits an awaitable result as before.
Fields with arguments, extensions or permissions keep strawberry's resolver.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import strawberry
from graphql import GraphQLField, GraphQLObjectType, GraphQLResolveInfo
from strawberry.types.base import StrawberryObjectDefinition
from strawberry.types.field import StrawberryField

from schema import strawberry_internals

Resolve = Callable[..., Any]
RawInfo = GraphQLResolveInfo[Any]


def install(schema: strawberry.Schema) -> int:
    """Replaces the resolvers that qualify; returns how many it replaced."""
    if schema.config.default_resolver is not getattr:
        return 0
    if strawberry_internals.has_exception_handlers(schema):
        return 0
    names = schema.config.name_converter
    replaced = 0
    for concrete in schema.schema_converter.type_map.values():
        definition, implementation = concrete.definition, concrete.implementation
        if not isinstance(definition, StrawberryObjectDefinition):
            continue
        if not isinstance(implementation, GraphQLObjectType):
            continue
        for field in definition.fields:
            target = implementation.fields.get(names.get_graphql_name(field))
            direct = _direct(schema, field, target)
            if direct is not None and target is not None:
                target.resolve = direct
                replaced += 1
    return replaced


def _direct(
    schema: strawberry.Schema, field: StrawberryField, target: GraphQLField | None
) -> Resolve | None:
    if target is None or getattr(target.resolve, "_direct", False):
        return None
    if field.extensions or field.is_subscription:
        return None
    if field.is_basic_field:
        return _attribute(field.python_name)
    resolver = field.base_resolver
    if resolver is None or resolver.arguments or target.args:
        return None
    if resolver.root_parameter is not None or resolver.parent_parameter is not None:
        return None
    function = resolver.wrapped_func
    if not callable(function):
        return None
    info_name = resolver.info_parameter.name if resolver.info_parameter else None
    with_self = resolver.self_parameter is not None
    return _call(function, with_self, info_name, schema.config.info_class, field)


def _attribute(name: str) -> Resolve:
    def resolve(source: Any, _info: Any) -> Any:
        return getattr(source, name)

    return _marked(resolve)


def _call(
    function: Callable[..., Any],
    with_self: bool,
    info_name: str | None,
    info_class: Any,
    field: StrawberryField,
) -> Resolve:
    if info_name is None:
        return _direct_call(function, with_self)
    info_of, name = strawberry_internals.info, info_name

    def with_self_and_info(source: Any, info: RawInfo) -> Any:
        return function(source, **{name: info_of(info_class, info, field)})

    def with_info(_source: Any, info: RawInfo) -> Any:
        return function(**{name: info_of(info_class, info, field)})

    return _marked(with_self_and_info if with_self else with_info)


def _direct_call(function: Callable[..., Any], with_self: bool) -> Resolve:
    def with_self_only(source: Any, _info: RawInfo) -> Any:
        return function(source)

    def without(_source: Any, _info: RawInfo) -> Any:
        return function()

    return _marked(with_self_only if with_self else without)


def _marked(resolve: Resolve) -> Resolve:
    """Marks a replacement, so that installing twice replaces nothing more."""
    setattr(resolve, "_direct", True)  # noqa: B010 (a function's attribute, not typed)
    return resolve
