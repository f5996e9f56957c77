"""The values a request brings, checked before anything runs: its variables against their
declared types, and the length of every text argument.

graphql-core coerces the variables inside `execute`, and its errors (a missing variable, a
wrong type, an Int past 32 bits, an unknown input field, a bad enum or DateTime) carry the
scalar's exception as `original_error`, which made them look like bugs: masked as INTERNAL
and logged with a traceback. Coerced here first, each is a request error coded VALIDATION,
as a NUL in a variable or a page size out of range already are, with graphql-core's
message. In production a reason that quotes a name the request does not contain (a required
input field, a nested input type) is cut off (`Variable '$input' has invalid value at
'actions[0]'.`): with introspection off, errors should not spell out the schema.

Text arguments: a search at most 200 characters, the signed tokens (quote, license key) and
a reason (whose own rule, at most 1000, is the mutation's typed ValidationError) 16 KiB, any
other string 1000; every string inside a list or an input object counts on its own. A 0.9 MB
search string would otherwise reach the database (SQLite refuses such a LIKE pattern).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from graphql import (
    ArgumentNode,
    DocumentNode,
    GraphQLError,
    GraphQLSchema,
    ListValueNode,
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
_QUOTED = re.compile(r"'([^']+)'")


def variable_errors(
    schema: GraphQLSchema,
    operation: OperationDefinitionNode,
    variables: Mapping[str, Any] | None,
    *,
    request_text: str | None,
) -> list[GraphQLError]:
    """The variables' coercion errors, coded. With `request_text` (production: the query and
    its variables as sent), a reason quoting a name not in it is cut off."""
    try:
        found = get_variable_values(
            schema,
            operation.variable_definitions or (),
            dict(variables or {}),
            max_errors=50,
            hide_suggestions=request_text is not None,
        )
    except RecursionError:
        return [PublicError(ErrorCode.VALIDATION, "The variables are nested too deeply.")]
    if not isinstance(found, list):
        return []
    return [_public(error, request_text) for error in found]


def _public(error: GraphQLError, request_text: str | None) -> GraphQLError:
    message = error.message
    if request_text is not None and any(
        name not in request_text for name in _QUOTED.findall(message)
    ):
        message = _REASON.sub(r"\1.", message)
    return PublicError(ErrorCode.VALIDATION, message, nodes=error.nodes)


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
