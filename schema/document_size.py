"""How big a document is once its fragments are spread, measured before it is validated.

A fragment may spread another twice, that one the next twice, and so on: thirty lines expand
to 2^30 fields. Whatever walks a document with its spreads expanded pays for the expanded
size: depth and alias counting, graphql-core's OverlappingFieldsCanBeMerged (which also
compares every pair of fields that share a response name at one place, so 500 copies of one
field cost it seconds), execution, strawberry's `selected_fields` (schema.loaded). So
`measure` counts in one pass linear in the text, each fragment measured once and
remembered, and the edge refuses a document past the limits before validation walks it:

- `fields`: field selections with every spread replaced by its fragment, summed over the
  operations and over the fragment definitions (validation walks both);
- `depth` of each operation: the most fields nested in one another (strawberry's
  QueryDepthLimiter's count: an introspection field's selection does not count);
- `aliases`: aliased fields with spreads expanded, summed over the operations (strawberry's
  MaxAliasesLimiter's count);
- `repeated_pairs`: the pairs of selections of one response name at one place (same
  response path), which graphql-core compares one with another. Counted on the expanded
  document, only once `fields` is within its limit (so that walk is bounded too).

Only for a document whose spreads all name fragments, without cycles (schema.validation
checks that first): an unknown or cyclic spread counts nothing here, so the expanded walk of
`repeated_pairs` would not be bounded by `fields`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
)


@dataclass(frozen=True)
class Size:
    fields: int = 0
    depth: int = 0
    aliases: int = 0


_NOTHING = Size()


@dataclass(frozen=True)
class OperationSize:
    node: OperationDefinitionNode
    size: Size

    @property
    def name(self) -> str:
        return self.node.name.value if self.node.name else "anonymous"


@dataclass(frozen=True)
class DocumentSize:
    operations: tuple[OperationSize, ...]
    fields: int

    @property
    def aliases(self) -> int:
        return sum(operation.size.aliases for operation in self.operations)


class _Measure:
    def __init__(self, fragments: Mapping[str, FragmentDefinitionNode]) -> None:
        self.fragments = fragments
        self.sizes: dict[str, Size] = {}
        self.open: set[str] = set()

    def selections(self, selection_set: SelectionSetNode | None) -> Size:
        fields = depth = aliases = 0
        for selection in selection_set.selections if selection_set else ():
            if isinstance(selection, FieldNode):
                inner = self.selections(selection.selection_set)
                counted = 0 if selection.name.value.startswith("__") else inner.depth
                size = Size(1 + inner.fields, 1 + counted, inner.aliases + bool(selection.alias))
            elif isinstance(selection, InlineFragmentNode):
                size = self.selections(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                size = self.fragment(selection.name.value)
            else:  # pragma: no cover - graphql-core has no other selection
                continue
            fields += size.fields
            depth = max(depth, size.depth)
            aliases += size.aliases
        return Size(fields, depth, aliases)

    def fragment(self, name: str) -> Size:
        known = self.sizes.get(name)
        if known is not None:
            return known
        definition = self.fragments.get(name)
        if definition is None or name in self.open:
            return _NOTHING
        self.open.add(name)
        size = self.selections(definition.selection_set)
        self.open.discard(name)
        self.sizes[name] = size
        return size


def fragments_of(document: DocumentNode) -> dict[str, FragmentDefinitionNode]:
    return {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}


def measure(document: DocumentNode) -> DocumentSize:
    """Raises RecursionError for a document nested past the interpreter's stack."""
    fragments = fragments_of(document)
    walk = _Measure(fragments)
    operations = tuple(
        OperationSize(d, walk.selections(d.selection_set))
        for d in document.definitions
        if isinstance(d, OperationDefinitionNode)
    )
    fields = sum(o.size.fields for o in operations)
    fields += sum(walk.fragment(name).fields for name in fragments)
    return DocumentSize(operations, fields)


def repeated_pairs(document: DocumentNode) -> int:
    """Pairs of selections sharing a response path, per operation and fragment definition.
    Walks the expanded document: call it only once `measure` found `fields` bounded."""
    fragments = fragments_of(document)
    roots = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    return sum(
        _Paths(fragments).pairs(root.selection_set) for root in [*roots, *fragments.values()]
    )


class _Paths:
    def __init__(self, fragments: Mapping[str, FragmentDefinitionNode]) -> None:
        self.fragments = fragments
        self.ids: dict[tuple[int, str], int] = {}
        self.counts: list[int] = [0]

    def pairs(self, selection_set: SelectionSetNode) -> int:
        self.walk(selection_set, 0, frozenset())
        return sum(count * (count - 1) // 2 for count in self.counts)

    def walk(self, selection_set: SelectionSetNode, parent: int, open_: frozenset[str]) -> None:
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                key = (parent, (selection.alias or selection.name).value)
                path = self.ids.setdefault(key, len(self.counts))
                if path == len(self.counts):
                    self.counts.append(0)
                self.counts[path] += 1
                if selection.selection_set is not None:
                    self.walk(selection.selection_set, path, open_)
            elif isinstance(selection, InlineFragmentNode):
                self.walk(selection.selection_set, parent, open_)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                definition = self.fragments.get(name)
                if definition is not None and name not in open_:
                    self.walk(definition.selection_set, parent, open_ | {name})
