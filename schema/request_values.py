"""The values a request brings, checked before anything runs: its variables against their
declared types, and the length of every text argument.

graphql-core coerces the variables inside `execute`, and its errors (a missing variable, a
wrong type, an Int past 32 bits, an unknown input field, a bad enum or DateTime) carry the
scalar's exception as `original_error`, which made them look like bugs: masked as INTERNAL
and logged with a traceback. Coerced here first, each is a request error coded VALIDATION,
as a NUL in a variable or a page size out of range already are, with graphql-core's
message. In production a reason that names a type, field, argument or enum value of the
schema that the request did not use as a name (its variables' names and declared types, the
keys of its variables) is cut off (`Variable '$input' has invalid value at .actions[0].`):
with introspection off, errors should not spell out the schema. Text inside string values or
comments does not count: a value listing a dictionary of guesses would otherwise have had
the message confirm whichever was the required field.

Text arguments: a search at most 200 characters, the signed tokens (quote, license key) and
a reason (whose own rule, at most 1000, is the mutation's typed ValidationError) 16 KiB, any
other string 1000; every string inside a list or an input object counts on its own. A 0.9 MB
search string would otherwise reach the database (SQLite refuses such a LIKE pattern).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from functools import lru_cache
from typing import Any

from graphql import (
    ArgumentNode,
    DocumentNode,
    GraphQLError,
    GraphQLSchema,
    ListValueNode,
    NamedTypeNode,
    ObjectValueNode,
    OperationDefinitionNode,
    StringValueNode,
    ValueNode,
    VariableNode,
    visit,
)
from graphql.execution.values import get_variable_values
from graphql.language import Visitor

from app.domain.errors import ErrorCode
from resolvers.errors import PublicError

DEFAULT_TEXT_LIMIT = 1000
TOKEN_TEXT_LIMIT = 16 * 1024
TEXT_LIMITS: Mapping[str, int] = {
    "search": 200,
    "quoteToken": TOKEN_TEXT_LIMIT,
    "licenseKey": TOKEN_TEXT_LIMIT,
    "reason": TOKEN_TEXT_LIMIT,
}
# "Variable '$x' has invalid value at 'a.b': <reason>" (or "invalid default value").
_REASON = re.compile(r"^(Variable '\$\w+' has invalid (?:default )?value[^:]*): .*$", re.DOTALL)
_NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]*")


def variable_errors(
    schema: GraphQLSchema,
    operation: OperationDefinitionNode,
    variables: Mapping[str, Any] | None,
    *,
    production: bool,
) -> list[GraphQLError]:
    """The variables' coercion errors, coded; in production a reason naming a schema name
    the request did not use is cut off."""
    try:
        found = get_variable_values(
            schema,
            operation.variable_definitions or (),
            dict(variables or {}),
            max_errors=50,
            hide_suggestions=production,
        )
        if not isinstance(found, list):
            return []
        hidden = _schema_names(schema) - _used_names(operation, variables) if production else None
    except RecursionError:
        return [PublicError(ErrorCode.VALIDATION, "The variables are nested too deeply.")]
    return [_public(error, hidden) for error in found]


def _public(error: GraphQLError, hidden: frozenset[str] | None) -> GraphQLError:
    message = error.message
    if hidden and not hidden.isdisjoint(_NAME.findall(message)):
        message = _REASON.sub(r"\1.", message)
    return PublicError(ErrorCode.VALIDATION, message, nodes=error.nodes)


@lru_cache(maxsize=8)
def _schema_names(schema: GraphQLSchema) -> frozenset[str]:
    """Every type, field, argument, input field and enum value name of the schema."""
    names: set[str] = set()
    for type_ in schema.type_map.values():
        names.add(type_.name)
        for field in getattr(type_, "fields", {}).values():
            names.update(getattr(field, "args", {}))
        names.update(getattr(type_, "fields", {}))
        names.update(getattr(type_, "values", {}))
    return frozenset(name for name in names if not name.startswith("__"))


def _used_names(
    operation: OperationDefinitionNode, variables: Mapping[str, Any] | None
) -> set[str]:
    """The names the request used as names: its variables' names and declared types, and
    the keys of its variables' objects (the input fields it sent)."""
    used: set[str] = set()
    for definition in operation.variable_definitions or ():
        used.add(definition.variable.name.value)
        type_node: Any = definition.type
        while not isinstance(type_node, NamedTypeNode):
            type_node = type_node.type
        used.add(type_node.name.value)
    used.update(_keys(variables or {}))
    return used


def _keys(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from _keys(item)
    elif isinstance(value, list):
        for item in value:
            yield from _keys(item)


def text_too_long(
    document: DocumentNode, operation: OperationDefinitionNode, variables: Mapping[str, Any] | None
) -> GraphQLError | None:
    """The first text argument (literal, variable or a variable's default) over its limit."""
    defaults = {
        definition.variable.name.value: definition.default_value
        for definition in operation.variable_definitions or ()
        if definition.default_value is not None
    }
    finder = _Arguments()
    visit(document, finder)
    longest = _Longest(variables or {}, defaults)
    for argument in finder.found:
        limit = TEXT_LIMITS.get(argument.name.value, DEFAULT_TEXT_LIMIT)
        if longest.of(argument.value) > limit:
            message = f"`{argument.name.value}` may be at most {limit} characters long."
            return PublicError(ErrorCode.VALIDATION, message, nodes=[argument])
    return None


class _Arguments(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[ArgumentNode] = []

    def enter_argument(self, node: ArgumentNode, *_: Any) -> None:
        self.found.append(node)


class _Longest:
    """The longest text in an argument's value. A variable's is measured once, however many
    arguments use it: a 1 MB list spread on 80 arguments was walked 80 times (1.5 s of CPU)."""

    def __init__(self, variables: Mapping[str, Any], defaults: Mapping[str, ValueNode]) -> None:
        self.variables = variables
        self.defaults = defaults
        self.known: dict[str, int] = {}

    def of(self, value: ValueNode) -> int:
        if isinstance(value, StringValueNode):
            return len(value.value)
        if isinstance(value, ListValueNode):
            return max((self.of(item) for item in value.values), default=0)
        if isinstance(value, ObjectValueNode):
            return max((self.of(field.value) for field in value.fields), default=0)
        if isinstance(value, VariableNode):
            return self.variable(value.name.value)
        return 0

    def variable(self, name: str) -> int:
        known = self.known.get(name)
        if known is None:
            if name in self.variables:
                known = max(map(len, _strings(self.variables[name])), default=0)
            elif name in self.defaults:
                known = _Longest({}, {}).of(self.defaults[name])
            else:
                known = 0
            self.known[name] = known
        return known


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
