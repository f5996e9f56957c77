"""Text with the NUL character (U+0000) is refused before anything runs.

PostgreSQL cannot hold NUL in text, not even as a query parameter to compare with, so a
NUL in any argument (a reason, a search, a number to look up) failed deep inside a resolver
as a masked internal error, while SQLite took it. Found by the fuzz test (tests/fuzz/)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from graphql import GraphQLError, StringValueNode, visit
from graphql.language import Visitor
from strawberry.extensions import SchemaExtension

from app.domain.errors import ErrorCode

NUL = "\x00"
MESSAGE = "Text may not contain the NUL character (U+0000)."


class NoNulText(SchemaExtension):
    """A request error (`VALIDATION`) for a NUL in a string literal or variable. Runs in the
    validation step, after ValidationCache, so that a document refused here never executes."""

    def on_validate(self) -> Iterator[None]:
        execution = self.execution_context
        document = execution.graphql_document
        if not execution.pre_execution_errors and document is not None:
            # In a document a NUL can only be an escape (the lexer refuses the raw byte).
            escaped = "\\u" in (execution.query or "")
            if _has_nul(execution.variables) or (escaped and _literal_has_nul(document)):
                error = GraphQLError(MESSAGE, extensions={"code": ErrorCode.VALIDATION.value})
                execution.pre_execution_errors = [error]
        yield


def _has_nul(value: Any) -> bool:
    """Walked with a stack, not recursion: any variable (declared or not) may be JSON nested
    a thousand deep, which recursion answered with a RecursionError and its traceback."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if NUL in item:
                return True
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False


class _Finder(Visitor):
    found = False

    def enter_string_value(self, node: StringValueNode, *_: Any) -> Any:
        if NUL in node.value:
            self.found = True
            return self.BREAK
        return None


def _literal_has_nul(document: Any) -> bool:
    finder = _Finder()
    visit(document, finder)
    return finder.found
