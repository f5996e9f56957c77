"""Planning a trusted document once: its fields, per type, as graphql-core would collect them.

`compile_operation` walks the operation against the graphql-core schema the way
`graphql.execution.collect_fields` does (response keys in document order, fields of one key
merged, inline fragments and fragment spreads whose type condition matches the concrete
type spread in place, each fragment once per selection set) and records, for every field,
what executing it takes: the schema's own `resolve` function, its return type as a chain of
completions (non-null, list, leaf, object), and whether it is a plain attribute read
(`schema.fastpath` installed `getattr(source, name)` as its resolver: the plan reads the
attribute itself, which is the same call).

Whatever the plan cannot prove it executes exactly as graphql-core would makes it refuse
with a reason (`Unsupported`), and the document runs on the normal path: any directive
(`@skip`, `@include`, `@defer`, ...), a mutation or subscription, introspection fields
other than `__typename`, a field or value of abstract type (interface, union), fragment
variables, a field graphql-core would not find, a middleware.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import strawberry
from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLLeafType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    is_abstract_type,
    is_leaf_type,
    is_list_type,
    is_non_null_type,
    is_object_type,
    type_from_ast,
)
from graphql.execution.collect_fields import FieldDetails
from strawberry.types.base import StrawberryObjectDefinition

from schema import strawberry_internals

# Completion kinds (ints: the executor compares them with `is`).
LEAF = 0
LIST = 1
OBJECT = 2


class Unsupported(Exception):
    """The document needs something the compiled executor does not do: `kind` is a bounded
    label (the fallback metric's), `detail` says where."""

    def __init__(self, kind: str, detail: str = "") -> None:
        super().__init__(f"{kind}: {detail}" if detail else kind)
        self.kind = kind
        self.detail = detail


@dataclass(eq=False, slots=True)
class Completion:
    """How a resolved value is completed for one (possibly wrapped) output type."""

    return_type: GraphQLOutputType
    non_null: bool
    inner: Completion | None  # for non-null: the wrapped type's completion
    kind: int  # LEAF, LIST or OBJECT (of the unwrapped type)
    coerce: Any = None  # LEAF: the type's coerce_output_value
    item: Completion | None = None  # LIST: the items' completion
    object_plan: ObjectPlan | None = None  # OBJECT
    # LIST of non-null objects whose is_type_of needs no info: items completed inline.
    simple_items: bool = False


@dataclass(eq=False, slots=True)
class FieldPlan:
    key: str  # the response key (alias or name)
    name: str
    parent_type: GraphQLObjectType
    parent_name: str
    field_def: GraphQLField | None  # None for __typename
    return_type: GraphQLOutputType
    nodes: list[FieldNode]
    details: list[FieldDetails]
    completion: Completion
    # The attribute the resolver reads (schema.fastpath's direct attribute resolvers), or
    # None: the field's `resolve` is called with a GraphQLResolveInfo and its arguments.
    attribute: str | None
    resolve: Any
    has_arguments: bool
    # A leaf read straight from an attribute, completed inline by the executor.
    simple_leaf: bool
    leaf: Completion  # the unwrapped completion
    # An object read straight from an attribute whose is_type_of needs no info (or is not
    # there): completed inline by the executor.
    simple_object: bool
    # The completion may call an `is_type_of` (it wants the field's resolve info).
    wants_info: bool
    null_message: str
    typename: str | None = None  # for __typename: the parent's name


@dataclass(eq=False, slots=True)
class ObjectPlan:
    type: GraphQLObjectType
    fields: list[FieldPlan] = field(default_factory=list)
    # The type's is_type_of is the one strawberry generates, whose info parameter is unused
    # (`_info`): the executor hands it None instead of building a resolve info.
    is_type_of_ignores_info: bool = False


@dataclass(eq=False, slots=True)
class OperationPlan:
    operation: OperationDefinitionNode
    root: ObjectPlan
    fields: int  # planned fields (all levels), for the log


def compile_operation(
    schema: strawberry.Schema,
    fragments: dict[str, FragmentDefinitionNode],
    operation: OperationDefinitionNode,
) -> OperationPlan:
    """The plan of the validated `operation` (with its document's fragments), or raises
    Unsupported."""
    compiler = _Compiler(schema, fragments)
    if operation.operation is not OperationType.QUERY:
        raise Unsupported(operation.operation.value)
    if operation.directives:
        raise Unsupported("directive", "on the operation")
    root_type = compiler.graphql.query_type
    if root_type is None:  # pragma: no cover - the schema has a Query
        raise Unsupported("no_query_type")
    root = compiler.object_plan(root_type, [operation.selection_set], depth=0)
    return OperationPlan(operation, root, compiler.planned)


class _Compiler:
    def __init__(
        self, schema: strawberry.Schema, fragments: dict[str, FragmentDefinitionNode]
    ) -> None:
        self.schema = schema
        self.graphql: GraphQLSchema = strawberry_internals.graphql_schema(schema)
        for definition in fragments.values():
            if definition.variable_definitions:
                raise Unsupported("fragment_variables", definition.name.value)
            if definition.directives:
                raise Unsupported("directive", f"on fragment {definition.name.value}")
        self.fragments = fragments
        self.names = schema.config.name_converter
        self.planned = 0
        # graphql type name -> graphql field name -> strawberry field
        self._strawberry: dict[str, dict[str, Any]] = {}

    def object_plan(
        self, type_: GraphQLObjectType, selection_sets: list[SelectionSetNode], depth: int
    ) -> ObjectPlan:
        if depth > 64:
            raise Unsupported("too_deep")
        grouped: dict[str, list[FieldNode]] = {}
        visited: set[str] = set()
        for selection_set in selection_sets:
            self._collect(type_, selection_set, grouped, visited)
        plan = ObjectPlan(type_, is_type_of_ignores_info=_generated_is_type_of(type_))
        for key, nodes in grouped.items():
            plan.fields.append(self._plan_field(type_, key, nodes, depth))
        return plan

    def _collect(
        self,
        type_: GraphQLObjectType,
        selection_set: SelectionSetNode,
        grouped: dict[str, list[FieldNode]],
        visited: set[str],
    ) -> None:
        for selection in selection_set.selections:
            if selection.directives:
                raise Unsupported("directive", f"on a selection of {type_}")
            if isinstance(selection, FieldNode):
                key = selection.alias.value if selection.alias else selection.name.value
                grouped.setdefault(key, []).append(selection)
            elif isinstance(selection, InlineFragmentNode):
                if self._matches(selection.type_condition, type_):
                    self._collect(type_, selection.selection_set, grouped, visited)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if fragment is None or not self._matches(fragment.type_condition, type_):
                    continue
                if name in visited:
                    continue
                visited.add(name)
                self._collect(type_, fragment.selection_set, grouped, visited)
            else:  # pragma: no cover
                raise Unsupported("selection", type(selection).__name__)

    def _matches(self, condition: Any, type_: GraphQLObjectType) -> bool:
        if condition is None:
            return True
        conditional = type_from_ast(self.graphql, condition)
        if conditional is type_:
            return True
        if conditional is not None and is_abstract_type(conditional):
            return self.graphql.is_sub_type(conditional, type_)
        return False

    def _plan_field(
        self, parent: GraphQLObjectType, key: str, nodes: list[FieldNode], depth: int
    ) -> FieldPlan:
        self.planned += 1
        name = nodes[0].name.value
        details = [FieldDetails(node, None, None) for node in nodes]
        null_message = f"Cannot return null for non-nullable field {parent}.{name}."
        if name == "__typename":
            field_def = self.graphql.get_field(parent, name)
            assert field_def is not None
            completion = self._completion(field_def.type, nodes, depth)
            return FieldPlan(
                key, name, parent, parent.name, None, field_def.type, nodes, details,
                completion, None, None, False, False, _unwrapped(completion), False, False,
                null_message, parent.name,
            )  # fmt: skip
        if name.startswith("__"):
            raise Unsupported("introspection", f"{parent}.{name}")
        field_def = parent.fields.get(name)
        if field_def is None:
            raise Unsupported("unknown_field", f"{parent}.{name}")
        if field_def.resolve is None:
            raise Unsupported("default_resolver", f"{parent}.{name}")
        completion = self._completion(field_def.type, nodes, depth)
        has_arguments = bool(field_def.args or any(node.arguments for node in nodes[:1]))
        attribute = self._attribute(parent, name, field_def)
        leaf = _unwrapped(completion).kind is LEAF
        return FieldPlan(
            key=key,
            name=name,
            parent_type=parent,
            parent_name=parent.name,
            field_def=field_def,
            return_type=field_def.type,
            nodes=nodes,
            details=details,
            completion=completion,
            attribute=attribute,
            resolve=field_def.resolve,
            has_arguments=has_arguments,
            simple_leaf=attribute is not None and leaf and not has_arguments,
            leaf=_unwrapped(completion),
            simple_object=attribute is not None
            and not has_arguments
            and _unwrapped(completion).kind is OBJECT
            and not _wants_info(completion),
            wants_info=_wants_info(completion),
            null_message=null_message,
        )

    def _attribute(
        self, parent: GraphQLObjectType, name: str, field_def: GraphQLField
    ) -> str | None:
        """The attribute schema.fastpath's direct resolver reads, when it is one."""
        if not getattr(field_def.resolve, "_direct", False) or field_def.args:
            return None
        found = self._strawberry_fields(parent).get(name)
        if found is None or not found.is_basic_field:
            return None
        python_name: str = found.python_name
        return python_name

    def _strawberry_fields(self, parent: GraphQLObjectType) -> dict[str, Any]:
        known = self._strawberry.get(parent.name)
        if known is None:
            known = {}
            concrete = self.schema.schema_converter.type_map.get(parent.name)
            definition = getattr(concrete, "definition", None)
            if isinstance(definition, StrawberryObjectDefinition):
                for strawberry_field in definition.fields:
                    known[self.names.get_graphql_name(strawberry_field)] = strawberry_field
            self._strawberry[parent.name] = known
        return known

    def _completion(
        self, type_: GraphQLOutputType, nodes: list[FieldNode], depth: int
    ) -> Completion:
        if is_non_null_type(type_):
            assert isinstance(type_, GraphQLNonNull)
            inner = self._completion(type_.of_type, nodes, depth)
            return Completion(type_, True, inner, inner.kind)
        if is_list_type(type_):
            assert isinstance(type_, GraphQLList)
            item = self._completion(type_.of_type, nodes, depth)
            simple = item.inner is not None and item.kind is OBJECT and not _wants_info(item)
            return Completion(type_, False, None, LIST, item=item, simple_items=simple)
        if is_leaf_type(type_):
            assert isinstance(type_, GraphQLLeafType)
            return Completion(type_, False, None, LEAF, coerce=type_.coerce_output_value)
        if is_abstract_type(type_):
            raise Unsupported("abstract_type", str(type_))
        if is_object_type(type_):
            assert isinstance(type_, GraphQLObjectType)
            selection_sets = [node.selection_set for node in nodes if node.selection_set]
            plan = self.object_plan(type_, selection_sets, depth + 1)
            return Completion(type_, False, None, OBJECT, object_plan=plan)
        raise Unsupported("output_type", str(type_))  # pragma: no cover


def _unwrapped(completion: Completion) -> Completion:
    while completion.inner is not None:
        completion = completion.inner
    return completion


def _wants_info(completion: Completion) -> bool:
    """Whether completing a value calls an `is_type_of` (which is handed the resolve info)
    before reaching the next field."""
    while True:
        if completion.inner is not None:
            completion = completion.inner
        elif completion.item is not None:
            completion = completion.item
        else:
            break
    plan = completion.object_plan
    return (
        plan is not None and plan.type.is_type_of is not None and not plan.is_type_of_ignores_info
    )


# strawberry.schema.schema_converter's `is_type_of(obj, _info)` for types with interfaces.
_GENERATED_IS_TYPE_OF = (
    "GraphQLCoreConverter.from_object.<locals>._get_is_type_of.<locals>.is_type_of"
)


def _generated_is_type_of(type_: GraphQLObjectType) -> bool:
    function = type_.is_type_of
    code = getattr(function, "__code__", None)
    return (
        code is not None
        and getattr(function, "__module__", None) == "strawberry.schema.schema_converter"
        and code.co_qualname == _GENERATED_IS_TYPE_OF
        and code.co_varnames[:2] == ("obj", "_info")
    )
