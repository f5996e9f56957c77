"""What an operation will cost before it runs, counted in the spirit of GitHub's GraphQL API:
assume every connection returns a full page.

Every field that returns an object (or a list of objects) costs 1; scalar and enum fields are
read from objects already loaded and cost nothing, nor does `__typename`. A connection field
(one with a `first` argument) multiplies the cost of everything selected under it by its page
size: the literal, the variable's value, the variable's default, or the argument's default
(20). Fragments count once per spread; every branch of an abstract type counts, so the figure
is an upper bound. Each page size must also be within 1..MAX_PAGE_SIZE, checked here so that
an oversized page is refused before any resolver runs.

The cost depends on the variables, so it cannot be a graphql-core validation rule (whose
result `ValidationCache` keys on the document alone); `OperationBudget` computes it after
validation, per request. The walk is linear in the size of the document (fragments are
costed once and remembered), and the document is at most `MAX_QUERY_TOKENS` long.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson
from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValueNode,
    VariableNode,
    get_named_type,
    get_operation_ast,
    is_composite_type,
    value_from_ast_untyped,
)

from resolvers.ids import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE

PAGE_ARGUMENT = "first"
_SORTED = orjson.OPT_SORT_KEYS


class PageSizeOutOfRange(ValueError):
    def __init__(self, size: object) -> None:
        super().__init__(f"`{PAGE_ARGUMENT}` must be between 1 and {MAX_PAGE_SIZE}.")
        self.size = size


@dataclass
class _Walk:
    schema: GraphQLSchema
    fragments: Mapping[str, FragmentDefinitionNode]
    variables: Mapping[str, Any]
    defaults: Mapping[str, Any]
    fragment_costs: dict[str, int] = field(default_factory=dict)
    in_progress: set[str] = field(default_factory=set)

    def selections(self, selection_set: SelectionSetNode | None, parent: Any) -> int:
        if selection_set is None:
            return 0
        total = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                total += self.field(selection, parent)
            elif isinstance(selection, InlineFragmentNode):
                total += self.selections(selection.selection_set, self._type(selection, parent))
            elif isinstance(selection, FragmentSpreadNode):
                total += self.fragment(selection.name.value)
        return total

    def fragment(self, name: str) -> int:
        if name in self.fragment_costs:
            return self.fragment_costs[name]
        definition = self.fragments.get(name)
        if definition is None or name in self.in_progress:  # invalid documents never get here
            return 0
        self.in_progress.add(name)
        cost = self.selections(definition.selection_set, self._type(definition, None))
        self.in_progress.discard(name)
        self.fragment_costs[name] = cost
        return cost

    def field(self, node: FieldNode, parent: Any) -> int:
        name = node.name.value
        if name == "__typename":
            return 0
        definition = _field_definition(parent, name)
        child_type = get_named_type(definition.type) if definition is not None else None
        own = 1 if node.selection_set is not None or is_composite_type(child_type) else 0
        children = self.selections(node.selection_set, child_type)
        if definition is None or PAGE_ARGUMENT not in definition.args:
            return own + children
        return own + self.page_size(node, definition) * children

    def page_size(self, node: FieldNode, definition: GraphQLField) -> int:
        arguments = node.arguments or ()
        argument = next((a for a in arguments if a.name.value == PAGE_ARGUMENT), None)
        default = definition.args[PAGE_ARGUMENT].default_value
        size = self._value(argument.value) if argument is not None else None
        if isinstance(size, bool) or not isinstance(size, int):
            # Absent, null or not an integer: variable coercion reports the last two at execution.
            size = default if isinstance(default, int) else DEFAULT_PAGE_SIZE
        if not 1 <= size <= MAX_PAGE_SIZE:
            raise PageSizeOutOfRange(size)
        return size

    def _value(self, value: ValueNode) -> object:
        if isinstance(value, VariableNode):
            name = value.name.value
            found = self.variables.get(name, self.defaults.get(name))
            if isinstance(found, float) and found.is_integer():
                return int(found)
            return found
        if isinstance(value, IntValueNode):
            return int(value.value)
        return value_from_ast_untyped(value)

    def _type(
        self, node: InlineFragmentNode | FragmentDefinitionNode, parent: Any
    ) -> GraphQLNamedType | None:
        if node.type_condition is None:
            return parent  # type: ignore[no-any-return]
        return self.schema.get_type(node.type_condition.name.value)


def _field_definition(parent: Any, name: str) -> GraphQLField | None:
    if isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
        found: GraphQLField | None = parent.fields.get(name)
        return found
    return None


def operation_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    variables: Mapping[str, Any] | None,
) -> int:
    """The cost of the operation that will run; raises PageSizeOutOfRange for a bad page."""
    operation = get_operation_ast(document, operation_name)
    if operation is None:
        return 0
    walk = _Walk(
        schema=schema,
        fragments={
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        },
        variables=variables or {},
        defaults=_variable_defaults(operation),
    )
    root = schema.get_root_type(operation.operation)
    return walk.selections(operation.selection_set, root)


def _variable_defaults(operation: OperationDefinitionNode) -> dict[str, Any]:
    return {
        definition.variable.name.value: value_from_ast_untyped(definition.default_value)
        for definition in operation.variable_definitions or ()
        if definition.default_value is not None
    }


def _digest(variables: Mapping[str, Any] | None) -> bytes:
    """The variables' canonical JSON, hashed: a key holds 16 bytes, not a 1 MB variable."""
    return hashlib.blake2b(orjson.dumps(variables, option=_SORTED), digest_size=16).digest()


class CostCache:
    """Costs of recent operations, so a repeated request does not walk its document again.

    ParserCache hands the same DocumentNode back for the same text, so the key is that object
    (by identity: documents are not compared, and the entry keeps its document alive so the id
    cannot be reused), the operation name and the variables (a hash of their canonical JSON;
    the cost depends on them through `first`). Refusals (a page size out of range) are not
    kept."""

    def __init__(self, maxsize: int = 256) -> None:
        self.maxsize = maxsize
        self._entries: OrderedDict[tuple[int, str | None, bytes], tuple[DocumentNode, int]] = (
            OrderedDict()
        )

    def cost(
        self,
        schema: GraphQLSchema,
        document: DocumentNode,
        operation_name: str | None,
        variables: Mapping[str, Any] | None,
        compute: Callable[..., int] = operation_cost,
    ) -> int:
        try:
            key = (id(document), operation_name, _digest(variables))
        except TypeError:  # a variable orjson cannot encode: no caching, same answer
            return compute(schema, document, operation_name, variables)
        entry = self._entries.get(key)
        if entry is not None and entry[0] is document:
            self._entries.move_to_end(key)
            return entry[1]
        cost = compute(schema, document, operation_name, variables)
        self._entries[key] = (document, cost)
        if len(self._entries) > self.maxsize:
            self._entries.popitem(last=False)
        return cost
