"""Executing a planned trusted document: graphql-core's algorithm without its per-field walk.

`CompiledExecutor` is the graphql-core executor strawberry builds for every operation (its
`StrawberryGraphQLCoreExecutionContext`, so resolve infos, variables, error collection,
error propagation and the response are the normal ones). Only `execute_operation` changes:
when the request's document is a registered one (schema.trusted_documents marks the
context) and has a plan (schema.compiled.plan), the plan's fields are executed instead of
graphql-core collecting fields, building a resolve info, checking types and wrapping types
again for every field of every object.

Each step mirrors graphql-core 3.3's `Executor` (execute_fields, execute_field,
complete_value, complete_iterable_value, complete_list_item_value, complete_object_value):
same resolvers called with the same arguments and infos in the same order, awaitables
gathered at the same points, errors located and collected by the executor's own
`handle_field_error`, so data, errors and their order are what the normal path answers.
What the plan saves: fields are collected once per document, not per object; a field read
from an attribute (schema.fastpath's direct resolvers) is a `getattr` with no resolve info
and no response path unless it fails; leaves of plain Python values are coerced inline.
Anything at run time the mirror does not cover (an async iterable for a list) is handed to
graphql-core's own method for that value.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Awaitable
from typing import Any, ClassVar

import strawberry
from graphql import (
    FragmentDefinitionNode,
    GraphQLError,
    GraphQLResolveInfo,
    OperationDefinitionNode,
    Undefined,
)
from graphql.execution.executor import invalid_return_type_error
from graphql.execution.values import get_argument_values
from graphql.pyutils import Path, inspect, is_iterable
from graphql.pyutils.gather_with_cancel import gather_with_cancel
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from schema.compiled.plan import (
    LEAF,
    LIST,
    Completion,
    FieldPlan,
    ObjectPlan,
    OperationPlan,
    Unsupported,
    compile_operation,
)

log = logging.getLogger("fulfillment.compiled")

# Values whose type is one of these are neither awaitable nor exceptions (strawberry's
# optimized_is_awaitable answers False for them at once): a leaf completes inline.
_PLAIN = frozenset({str, int, bool, float})
# What strawberry's generated is_type_of gets for the info it does not read.
_NO_INFO: Any = None
# Argument values that may be shared by the calls of one request (nothing can change them).
_IMMUTABLE = frozenset({str, int, bool, float, type(None)})


class CompiledDocuments:
    """The plans of one schema's trusted documents, keyed by document hash and operation
    name, planned once per process on first use (a document that cannot be planned keeps
    its reason, so it is not planned again); at most `maxsize` kept, oldest dropped."""

    def __init__(self, schema: strawberry.Schema, *, maxsize: int = 256) -> None:
        self.schema = schema
        self.maxsize = maxsize
        self._plans: dict[tuple[str, str | None], OperationPlan | Unsupported] = {}
        # Process-wide counts (the request metrics count per runtime, see _count).
        self.counts: Counter[str] = Counter()

    def plan(
        self,
        sha256: str,
        fragments: dict[str, FragmentDefinitionNode],
        operation: OperationDefinitionNode,
    ) -> OperationPlan | Unsupported:
        key = (sha256, operation.name.value if operation.name else None)
        found = self._plans.get(key)
        # A document parsed again (the parser cache dropped it) has new nodes: plan anew.
        if found is not None and (isinstance(found, Unsupported) or found.operation is operation):
            return found
        try:
            found = compile_operation(self.schema, fragments, operation)
        except Unsupported as refusal:
            found = refusal
            log.info(
                "trusted document %s (%s) runs on the normal path: %s",
                sha256[:12], key[1], refusal,
            )  # fmt: skip
        if len(self._plans) >= self.maxsize and key not in self._plans:
            self._plans.pop(next(iter(self._plans)))
        self._plans[key] = found
        return found


class CompiledExecutor(StrawberryGraphQLCoreExecutionContext):
    """Set `documents` on a subclass (schema.build does, per schema)."""

    documents: ClassVar[CompiledDocuments | None] = None

    def execute_operation(self, serially: bool | None = None) -> Any:
        plan = self._compiled_plan(serially)
        if plan is None:
            return super().execute_operation(serially)
        return self._execute_plan(plan)

    # -- choosing the path ------------------------------------------------------------------

    def _compiled_plan(self, serially: bool | None) -> OperationPlan | None:
        documents = self.documents
        context = self.context_value
        sha256 = getattr(context, "trusted_document", None)
        if documents is None or not isinstance(sha256, str):
            return None  # not a registered document: not counted
        # Strawberry always hands graphql-core a manager; one with no middleware changes nothing.
        manager = self.middleware_manager
        if serially or (manager is not None and manager.middlewares):
            return self._fallback(documents, "middleware" if serially is None else "serially")
        if self.abort_signal is not None or self.hooks is not None:
            return self._fallback(documents, "abort_signal_or_hooks")
        if not self.error_propagation or self.enable_early_execution:
            return self._fallback(documents, "execution_options")
        found = documents.plan(sha256, self.fragment_definitions, self.operation)
        if isinstance(found, Unsupported):
            return self._fallback(documents, found.kind)
        documents.counts["compiled"] += 1
        _count(context, "compiled", "")
        return found

    def _fallback(self, documents: CompiledDocuments, reason: str) -> OperationPlan | None:
        documents.counts[f"fallback:{reason}"] += 1
        _count(self.context_value, "fallback", reason)
        return None

    # -- execute_operation ------------------------------------------------------------------

    def _execute_plan(self, plan: OperationPlan) -> Any:
        self._shared_arguments: dict[FieldPlan, dict[str, Any]] = {}
        try:
            result = self._fields(plan.root, self.root_value, None)
            if self.is_awaitable(result):

                async def await_result() -> Any:
                    try:
                        data = await result
                    except GraphQLError as error:
                        self.collected_errors.add(error, None)
                        return self.build_response(None)
                    except Exception:
                        await self.cancel_incremental_work()
                        self.run_async_work_finished_hook()
                        raise
                    return self.build_response(data)

                return await_result()
            data = result
        except GraphQLError as error:
            self.collected_errors.add(error, None)
            return self.finish(self.build_response(None))
        return self.finish(self.build_response(data))

    # -- execute_fields ---------------------------------------------------------------------

    def _fields(self, plan: ObjectPlan, source: Any, path: Path | None) -> Any:
        results: dict[str, Any] = {}
        is_awaitable = self.is_awaitable
        awaitable_fields: list[str] = []
        try:
            for field in plan.fields:
                key = field.key
                if field.simple_leaf:
                    # execute_field + complete_value of a leaf read from an attribute, inline
                    # for a value that is neither awaitable nor an exception (graphql-core's
                    # checks, in its order); anything else takes the general way.
                    try:
                        value = getattr(source, field.attribute)  # type: ignore[arg-type]
                        if value is None:
                            if field.completion.non_null:
                                raise TypeError(field.null_message)
                            results[key] = None
                            continue
                        if type(value) in _PLAIN or not (
                            is_awaitable(value) or isinstance(value, Exception)
                        ):
                            leaf = field.leaf
                            coerced = leaf.coerce(value)
                            if coerced is Undefined or coerced is None:
                                raise TypeError(_leaf_message(leaf, value, coerced))
                            results[key] = coerced
                            if type(coerced) not in _PLAIN and is_awaitable(coerced):
                                awaitable_fields.append(key)  # pragma: no cover - odd coerce
                            continue
                    except Exception as raw_error:
                        field_path = Path(path, key, field.parent_name)
                        self.handle_field_error(
                            raw_error, field.return_type, field.details, field_path
                        )
                        results[key] = None
                        continue
                    result = self._resolved_field(field, path, value)
                elif field.simple_object:
                    # execute_field + complete_value of an object read from an attribute.
                    field_path = Path(path, key, field.parent_name)
                    try:
                        value = getattr(source, field.attribute)  # type: ignore[arg-type]
                        if value is None:
                            if field.completion.non_null:
                                raise TypeError(field.null_message)
                            results[key] = None
                            continue
                        if is_awaitable(value) or isinstance(value, Exception):
                            result = self._resolved(field, field_path, None, value)
                        else:
                            plan_ = field.leaf.object_plan
                            assert plan_ is not None
                            is_type_of = plan_.type.is_type_of
                            # strawberry's is_type_of answers a bool (schema.compiled.plan);
                            # when it says no, the general way raises graphql-core's error.
                            if is_type_of is not None and not is_type_of(value, _NO_INFO):
                                result = self._resolved(field, field_path, None, value)
                                results[key] = result
                                if is_awaitable(result):
                                    awaitable_fields.append(key)
                                continue
                            result = self._fields(plan_, value, field_path)
                            if is_awaitable(result):
                                result = self._await_field(field, result, field_path)
                    except Exception as raw_error:
                        self.handle_field_error(
                            raw_error, field.return_type, field.details, field_path
                        )
                        results[key] = None
                        continue
                else:
                    result = self._run_field(field, source, path)
                results[key] = result
                if is_awaitable(result):
                    awaitable_fields.append(key)
        except Exception:
            if awaitable_fields:
                self.settle_in_background([results[key] for key in awaitable_fields])
            raise

        if not awaitable_fields:
            return results

        async def get_results() -> dict[str, Any]:
            if len(awaitable_fields) == 1:
                key = awaitable_fields[0]
                results[key] = await results[key]
            else:
                awaited = await gather_with_cancel(*(results[key] for key in awaitable_fields))
                results.update(zip(awaitable_fields, awaited, strict=True))
            return results

        return get_results()

    # -- execute_field ----------------------------------------------------------------------

    def _info(self, field: FieldPlan, field_path: Path) -> GraphQLResolveInfo[Any]:
        assert field.field_def is not None
        return self.build_resolve_info(field.field_def, field.nodes, field.parent_type, field_path)

    def _arguments(self, field: FieldPlan) -> dict[str, Any]:
        shared = self._shared_arguments.get(field)
        if shared is not None:
            return shared
        assert field.field_def is not None
        values: dict[str, Any] = get_argument_values(
            field.field_def, field.nodes[0], self.variable_values, None, self.hide_suggestions
        )
        if all(type(value) in _IMMUTABLE for value in values.values()):
            self._shared_arguments[field] = values
        return values

    def _run_field(self, field: FieldPlan, source: Any, path: Path | None) -> Any:
        field_path = Path(path, field.key, field.parent_name)
        info: GraphQLResolveInfo[Any] | None = None
        if field.typename is None and field.attribute is None:
            info = self._info(field, field_path)
        try:
            if field.typename is not None:
                result: Any = field.typename  # graphql-core's __typename: the parent's name
            elif field.attribute is not None:
                result = getattr(source, field.attribute)
            else:
                args = self._arguments(field) if field.has_arguments else {}
                result = field.resolve(source, info, **args)
            return self._resolved(field, field_path, info, result)
        except Exception as raw_error:
            self.handle_field_error(raw_error, field.return_type, field.details, field_path)
            return None

    async def _await_field(self, field: FieldPlan, completed: Any, field_path: Path) -> Any:
        try:
            return await completed
        except Exception as raw_error:
            self.handle_field_error(raw_error, field.return_type, field.details, field_path)
            return None

    def _resolved_field(self, field: FieldPlan, path: Path | None, result: Any) -> Any:
        """execute_field for an attribute's value that the inline leaf did not complete."""
        field_path = Path(path, field.key, field.parent_name)
        try:
            return self._resolved(field, field_path, None, result)
        except Exception as raw_error:
            self.handle_field_error(raw_error, field.return_type, field.details, field_path)
            return None

    def _resolved(
        self, field: FieldPlan, field_path: Path, info: GraphQLResolveInfo[Any] | None, result: Any
    ) -> Any:
        """The rest of execute_field, inside its `try`."""
        if field.wants_info and info is None:
            info = self._info(field, field_path)
        if self.is_awaitable(result):
            return self._complete_awaitable(field, info, field_path, result)
        completed = self._complete(field.completion, field, info, field_path, field_path, result)
        if self.is_awaitable(completed):

            async def await_completed() -> Any:
                try:
                    return await completed
                except Exception as raw_error:
                    self.handle_field_error(raw_error, field.return_type, field.details, field_path)
                    return None

            return await_completed()
        return completed

    async def _complete_awaitable(
        self, field: FieldPlan, info: GraphQLResolveInfo[Any] | None, field_path: Path, result: Any
    ) -> Any:
        try:
            resolved = await result
            completed = self._complete(
                field.completion, field, info, field_path, field_path, resolved
            )
            if self.is_awaitable(completed):
                completed = await completed
        except Exception as raw_error:
            self.handle_field_error(raw_error, field.return_type, field.details, field_path)
            completed = None
        return completed

    # -- complete_value ---------------------------------------------------------------------

    def _complete(
        self,
        completion: Completion,
        field: FieldPlan,
        info: GraphQLResolveInfo[Any] | None,
        field_path: Path,
        path: Path,
        result: Any,
    ) -> Any:
        if isinstance(result, Exception):
            raise result
        inner = completion.inner
        if inner is not None:  # non-null: complete as the inner type, which may not be null
            if inner.inner is not None:  # pragma: no cover - no non-null of non-null
                raise TypeError("non-null of non-null")
            if result is None or result is Undefined:
                raise TypeError(field.null_message)
            completed = self._complete_nullable(inner, field, info, field_path, path, result)
            if completed is None:
                raise TypeError(field.null_message)
            return completed
        if result is None or result is Undefined:
            return None
        return self._complete_nullable(completion, field, info, field_path, path, result)

    def _complete_nullable(
        self,
        completion: Completion,
        field: FieldPlan,
        info: GraphQLResolveInfo[Any] | None,
        field_path: Path,
        path: Path,
        result: Any,
    ) -> Any:
        """complete_value of a nullable type for a value that is neither null nor an
        exception (checked by the caller, as graphql-core's inner call would)."""
        kind = completion.kind
        if kind is LEAF:
            coerced = completion.coerce(result)
            if coerced is Undefined or coerced is None:
                raise TypeError(_leaf_message(completion, result, coerced))
            return coerced
        if kind is LIST:
            return self._complete_list(completion, field, info, field_path, path, result)
        return self._complete_object(completion, field, info, field_path, path, result)

    def _complete_list(
        self,
        completion: Completion,
        field: FieldPlan,
        info: GraphQLResolveInfo[Any] | None,
        field_path: Path,
        path: Path,
        result: Any,
    ) -> Any:
        if self.is_async_iterable(result):  # graphql-core's own way, with its info
            info = info or self._info(field, field_path)
            return self.complete_list_value(
                completion.return_type,  # type: ignore[arg-type]
                field.details,
                info,
                path,
                result,
                None,
            )
        if not is_iterable(result):
            message = (
                "Expected Iterable, but did not find one for field"
                f" '{field.parent_name}.{field.name}'."
            )
            raise GraphQLError(message)
        item_completion = completion.item
        assert item_completion is not None
        is_awaitable = self.is_awaitable
        completed_results: list[Any] = []
        append = completed_results.append
        awaitable_indices: list[int] = []
        iterator = iter(result)
        index = 0
        simple_plan = item_completion.inner.object_plan if completion.simple_items else None  # type: ignore[union-attr]
        try:
            while True:
                try:
                    item = next(iterator)
                except StopIteration:
                    break
                item_path = path.add_key(index, None)
                if simple_plan is not None and not (
                    item is None
                    or is_awaitable(item)
                    or isinstance(item, Exception)
                    or item is Undefined
                ):
                    # complete_list_item_value of a non-null object, inline (its is_type_of
                    # is strawberry's, which answers a bool: schema.compiled.plan).
                    try:
                        is_type_of = simple_plan.type.is_type_of
                        if is_type_of is not None and not is_type_of(item, _NO_INFO):
                            raise invalid_return_type_error(simple_plan.type, item, field.details)
                        completed_item = self._fields(simple_plan, item, item_path)
                    except Exception as raw_error:
                        self.handle_field_error(
                            raw_error, item_completion.return_type, field.details, item_path
                        )
                        append(None)
                        index += 1
                        continue
                    else:
                        if is_awaitable(completed_item):
                            append(
                                self._await_item(completed_item, item_completion, field, item_path)
                            )
                            awaitable_indices.append(index)
                        else:
                            append(completed_item)
                        index += 1
                        continue
                if is_awaitable(item):
                    append(
                        self._complete_awaitable_item(
                            item, item_completion, field, info, field_path, item_path
                        )
                    )
                    awaitable_indices.append(index)
                else:
                    try:
                        completed_item = self._complete(
                            item_completion, field, info, field_path, item_path, item
                        )
                        if is_awaitable(completed_item):
                            append(
                                self._await_item(completed_item, item_completion, field, item_path)
                            )
                            awaitable_indices.append(index)
                        else:
                            append(completed_item)
                    except Exception as raw_error:
                        self.handle_field_error(
                            raw_error, item_completion.return_type, field.details, item_path
                        )
                        append(None)
                index += 1
        except Exception:
            pending = [completed_results[i] for i in awaitable_indices]
            pending.extend(item for item in iterator if is_awaitable(item))
            if pending:
                self.settle_in_background(pending)
            raise

        if not awaitable_indices:
            return completed_results

        async def get_completed_results() -> list[Any]:
            if len(awaitable_indices) == 1:
                i = awaitable_indices[0]
                completed_results[i] = await completed_results[i]
            else:
                awaited = await gather_with_cancel(
                    *(completed_results[i] for i in awaitable_indices)
                )
                for i, value in zip(awaitable_indices, awaited, strict=True):
                    completed_results[i] = value
            return completed_results

        return get_completed_results()

    async def _await_item(
        self, completed: Awaitable[Any], completion: Completion, field: FieldPlan, path: Path
    ) -> Any:
        try:
            return await completed
        except Exception as raw_error:
            self.handle_field_error(raw_error, completion.return_type, field.details, path)
            return None

    async def _complete_awaitable_item(
        self,
        item: Any,
        completion: Completion,
        field: FieldPlan,
        info: GraphQLResolveInfo[Any] | None,
        field_path: Path,
        path: Path,
    ) -> Any:
        try:
            resolved = await item
            completed = self._complete(completion, field, info, field_path, path, resolved)
            if self.is_awaitable(completed):
                completed = await completed
        except Exception as raw_error:
            self.handle_field_error(raw_error, completion.return_type, field.details, path)
            return None
        return completed

    def _complete_object(
        self,
        completion: Completion,
        field: FieldPlan,
        info: GraphQLResolveInfo[Any] | None,
        field_path: Path,
        path: Path,
        result: Any,
    ) -> Any:
        plan = completion.object_plan
        assert plan is not None
        type_ = plan.type
        if type_.is_type_of:
            if info is None and not plan.is_type_of_ignores_info:
                info = self._info(field, field_path)
            is_type_of = type_.is_type_of(result, _NO_INFO if info is None else info)
            if self.is_awaitable(is_type_of):

                async def execute_subfields_async() -> Any:
                    if not await is_type_of:
                        raise invalid_return_type_error(type_, result, field.details)
                    sub_fields = self._fields(plan, result, path)
                    if self.is_awaitable(sub_fields):
                        return await sub_fields
                    return sub_fields  # pragma: no cover

                return execute_subfields_async()
            if not is_type_of:
                raise invalid_return_type_error(type_, result, field.details)
        return self._fields(plan, result, path)


def _leaf_message(completion: Completion, result: Any, coerced: Any) -> str:
    return (
        f"Expected `{inspect(completion.return_type)}.coerce_output_value("
        f"{inspect(result)})` to return non-nullable value, returned:"
        f" {inspect(coerced)}"
    )


def _count(context: Any, path: str, reason: str) -> None:
    runtime = getattr(context, "runtime", None)
    metrics = getattr(runtime, "metrics", None)
    counter = getattr(metrics, "compiled_documents", None)
    if counter is not None:
        counter.labels(path, reason).inc()


def executor_class() -> type[CompiledExecutor]:
    """A subclass of its own for one schema (schema.build sets its `documents`)."""
    return type("CompiledExecutor", (CompiledExecutor,), {"documents": None})
