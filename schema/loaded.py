"""Fields read through a DataLoader, declared once, and loading them for a whole list.

A field that reads through a loader declares it where it is declared, with a `Loads`: which
loader, the key of an object (and the field's arguments), and how the loaded value becomes
the field's answer. The field's resolver answers through `Loads.resolve`: at once when the
loader already holds the key (no coroutine, no asyncio task per item), else an awaitable.

`prefetch(info, value)` is what a list field calls before returning its items: it walks the
current field's selection over the values it is about to return, using the schema's own
types. For each selected field of an object it finds that object type's strawberry field;
when the field declares a `Loads`, the keys of all the objects are loaded in one batch (the
batch the fields would have caused) and the walk goes on below with the answers; a plain
attribute field (`nodes`, `edges`, `node`, `plan`) is followed as is; any other resolver is
left to run as before. There is no second map of the field graph to keep: a field declared
with a `Loads` is prefetched wherever a prefetching list reaches it
(tests/api/test_prefetch_plan.py checks that no field reads a loader without one).

Errors are left where they belong: a key whose load failed (a provider outage), or bad
arguments, fail again in their own field, which reports them as before.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, Generic, TypeAlias, TypeVar

import strawberry
from strawberry.types.base import StrawberryObjectDefinition, get_object_definition
from strawberry.types.field import StrawberryField
from strawberry.types.nodes import FragmentSpread, InlineFragment, SelectedField, Selection
from strawberry.types.unset import UNSET

from resolvers.context import RequestContext
from resolvers.dataloader import DataLoader
from resolvers.errors import PublicError
from resolvers.loaders import Loaders

S = TypeVar("S")
K = TypeVar("K")
V = TypeVar("V")
R = TypeVar("R")
T = TypeVar("T")

# What a resolver declared with a `Loads` returns: its answer, or an awaitable of it.
Ready: TypeAlias = T | Awaitable[T]
Arguments = Mapping[str, Any]
NO_ARGUMENTS: Arguments = {}

_LOADS = "loads"  # the key of a field's strawberry metadata
# Where the walk leaves the answers it converted on an object, for its field to return:
# {(Loads, arguments): answer}, taken once.
_ANSWERS = "_loaded_answers"
_NONE = object()


def _answer_key(loads: object, arguments: Arguments) -> object:
    return (id(loads), tuple(sorted(arguments.items())))


@dataclass(frozen=True, slots=True)
class Loads(Generic[S, K, V, R]):
    """The field of S whose answer is `convert(item, ctx, arguments, loader[key])`. A key of
    None: nothing to load (the resolver answers without a loader, e.g. null)."""

    loader: Callable[[Loaders], DataLoader[K, V]]
    key: Callable[[S, RequestContext, Arguments], K | None]
    convert: Callable[[S, RequestContext, Arguments, V], R]

    def field(
        self, graphql_type: object, *, description: str | None = None
    ) -> Callable[[Callable[..., Ready[R]]], StrawberryField]:
        """Declares the resolver as a field of `graphql_type` that reads through this loader."""

        def declare(resolver: Callable[..., Ready[R]]) -> StrawberryField:
            return strawberry.field(
                resolver,
                graphql_type=graphql_type,
                description=description,
                metadata={_LOADS: self},
            )

        return declare

    def resolve(
        self, item: S, info: strawberry.Info, arguments: Arguments = NO_ARGUMENTS
    ) -> Ready[R]:
        """The answer at once when the loader holds the key, else an awaitable of it (which
        prefetches what the field's own selection reads below it, as a list does)."""
        ctx: RequestContext = info.context
        key = self.key(item, ctx, arguments)
        assert key is not None, "the resolver answers a key of None itself"
        answers: dict[object, Any] | None = getattr(item, "__dict__", {}).get(_ANSWERS)
        if answers:  # the walk below a list converted it already, to walk on below it
            found = answers.pop(_answer_key(self, arguments), _NONE)
            if found is not _NONE:
                return found  # type: ignore[no-any-return]
        loader = self.loader(ctx.loaders)
        future = loader.ready(key)
        if future is not None:
            return self.convert(item, ctx, arguments, future.result())
        return self._later(item, info, arguments, loader.load(key))

    async def _later(
        self, item: S, info: strawberry.Info, arguments: Arguments, pending: Awaitable[V]
    ) -> R:
        answer = self.convert(item, info.context, arguments, await pending)
        await prefetch(info, answer)
        return answer


def loads_of(field: StrawberryField) -> Loads[Any, Any, Any, Any] | None:
    found = field.metadata.get(_LOADS) if field.metadata else None
    return found if isinstance(found, Loads) else None


# --- the walk ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Step:
    """A field of an object type, as the walk uses it."""

    python_name: str
    loads: Loads[Any, Any, Any, Any] | None
    arguments: Mapping[str, type]  # GraphQL name -> Python type of the field's arguments
    python_arguments: Mapping[str, str]  # GraphQL name -> Python name
    defaults: Mapping[str, object]  # Python name -> default, of the arguments with one
    is_attribute: bool


async def prefetch(info: strawberry.Info, value: object) -> None:
    """Loads, a batch per loader and level, what the current field's selection will read
    below `value` (what the field is about to return)."""
    names = _names(info)
    # `selected_fields` is the current field itself (once per alias): walk what it selects.
    current = _fields(info.selected_fields)
    selections = [below for field in current for below in _fields(field.selections)]
    selections = [field for field in selections if field.selections]
    if selections and _worth_walking(selections, names):
        await _walk(info.context, [value], selections, names)


async def _walk(
    ctx: RequestContext, values: list[object], selections: list[SelectedField], names: _Names
) -> None:
    if not selections:
        return
    for cls, objects in _by_type(values).items():
        steps = _steps(cls, names)
        for selected in selections:
            step = steps.get(selected.name)
            if step is None:
                continue
            below = _fields(selected.selections)
            if step.loads is not None:
                await _load(ctx, objects, selected, step, step.loads, below, names)
            elif step.is_attribute and below:
                found = [getattr(item, step.python_name) for item in objects]
                await _walk(ctx, found, below, names)


async def _load(
    ctx: RequestContext,
    objects: list[object],
    selected: SelectedField,
    step: _Step,
    loads: Loads[Any, Any, Any, Any],
    below: list[SelectedField],
    names: _Names,
) -> None:
    arguments = _arguments(selected, step)
    if arguments is None:
        return
    loader = loads.loader(ctx.loaders)
    keyed: list[tuple[object, Any]] = []
    for item in objects:
        try:
            key = loads.key(item, ctx, arguments)
        except (PublicError, TypeError, ValueError):
            return  # bad arguments: the field reports them
        if key is not None:
            keyed.append((item, key))
    if not keyed:
        return
    await asyncio.gather(*(loader.load(key) for _, key in keyed), return_exceptions=True)
    if not below or not _worth_walking(below, names):
        return
    answers: list[object] = []
    for item, key in keyed:
        future = loader.ready(key)
        if future is None or future.exception() is not None:
            continue
        try:
            answer = loads.convert(item, ctx, arguments, future.result())
        except Exception:  # the field raises it again, and reports it
            continue
        answers.append(answer)
        _leave(item, _answer_key(loads, arguments), answer)
    await _walk(ctx, answers, below, names)


def _leave(item: object, key: object, answer: object) -> None:
    """Keeps `answer` on `item` for its field (an object without a __dict__ converts twice)."""
    attributes = getattr(item, "__dict__", None)
    if attributes is not None:
        attributes.setdefault(_ANSWERS, {})[key] = answer


def _arguments(selected: SelectedField, step: _Step) -> dict[str, Any] | None:
    """The field's arguments by Python name; None when one is malformed (the field reports).
    Strawberry hands literals over as their source text ("3", "true"), variables as values."""
    found: dict[str, Any] = dict(step.defaults)
    for name, value in selected.arguments.items():
        python_name = step.python_arguments.get(name)
        if python_name is None:
            return None
        kind = step.arguments[name]
        if isinstance(value, str) and kind is bool:
            if value not in ("true", "false"):
                return None
            found[python_name] = value == "true"
        elif isinstance(value, str) and kind is int:
            try:
                found[python_name] = int(value)
            except ValueError:
                return None
        else:
            found[python_name] = value
    return found


def _by_type(values: Iterable[object]) -> dict[type, list[object]]:
    """The objects below `values` (lists flattened, nulls dropped), by their class."""
    found: dict[type, list[object]] = {}
    for value in _flat(values):
        found.setdefault(type(value), []).append(value)
    return found


def _flat(values: Iterable[object]) -> Iterator[object]:
    for value in values:
        if isinstance(value, list | tuple):
            yield from _flat(value)
        elif value is not None:
            yield value


def _fields(selections: Iterable[Selection]) -> list[SelectedField]:
    """The fields of a selection set, with those of its fragments (whatever their type
    condition: a field the object's type does not have is skipped)."""
    found: list[SelectedField] = []
    for selection in selections:
        if isinstance(selection, SelectedField):
            found.append(selection)
        elif isinstance(selection, FragmentSpread | InlineFragment):
            found.extend(_fields(selection.selections))
    return found


# --- what the walk knows of the schema, read from its types once -------------------------------


@dataclass(frozen=True, slots=True)
class _Names:
    """The schema's name converter, and the GraphQL names of the fields that load."""

    graphql_name: Callable[[StrawberryField], str]
    loading: frozenset[str]


def _names(info: strawberry.Info) -> _Names:
    return _names_of(info.schema)


@cache
def _names_of(schema: strawberry.Schema) -> _Names:
    convert = schema.config.name_converter.get_graphql_name
    loading = frozenset(
        convert(field)
        for definition in object_definitions(schema)
        for field in definition.fields
        if loads_of(field) is not None
    )
    return _Names(graphql_name=convert, loading=loading)


def object_definitions(schema: strawberry.Schema) -> list[StrawberryObjectDefinition]:
    """The strawberry definitions of the schema's object types (interfaces included)."""
    return [
        concrete.definition
        for concrete in schema.schema_converter.type_map.values()
        if isinstance(concrete.definition, StrawberryObjectDefinition)
    ]


@cache
def _steps_of(cls: type, graphql_name: Callable[[StrawberryField], str]) -> dict[str, _Step]:
    definition = get_object_definition(cls)
    if definition is None:
        return {}
    steps: dict[str, _Step] = {}
    for field in definition.fields:
        resolver = field.base_resolver
        arguments = {graphql_name(a): a for a in field.arguments} if resolver else {}  # type: ignore[arg-type]
        steps[graphql_name(field)] = _Step(
            python_name=field.python_name,
            loads=loads_of(field),
            arguments={name: _python_type(a.type) for name, a in arguments.items()},
            python_arguments={name: a.python_name for name, a in arguments.items()},
            defaults={
                a.python_name: a.default for a in arguments.values() if a.default is not UNSET
            },
            is_attribute=resolver is None,
        )
    return steps


def _steps(cls: type, names: _Names) -> dict[str, _Step]:
    return _steps_of(cls, names.graphql_name)


def _python_type(annotation: object) -> type:
    return annotation if isinstance(annotation, type) else object


def _worth_walking(selections: Sequence[SelectedField], names: _Names) -> bool:
    """Whether a field that loads is selected anywhere below (else converting the answers
    to walk them would be work for nothing)."""
    return any(
        selected.name in names.loading or _worth_walking(_fields(selected.selections), names)
        for selected in selections
    )
