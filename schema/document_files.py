"""`fulfillment documents register <folder>`: read the `.graphql` files of a folder and check
each against the schema and the edge limits, so that only documents that can run are
registered."""

from __future__ import annotations

from pathlib import Path

from graphql import GraphQLError, OperationDefinitionNode, parse, specified_rules

from app.config import Settings
from app.services.trusted_documents import DocumentSource, InvalidDocuments
from schema import strawberry_internals
from schema.build import build_schema
from schema.limits import EdgeLimits
from schema.validation import DocumentValidator, validation_rules


def load_documents(folder: Path, settings: Settings) -> list[DocumentSource]:
    """Every `.graphql` file under `folder` (by path), named by its path without the
    suffix; raises InvalidDocuments listing every problem when any file is unusable."""
    if not folder.is_dir():
        raise InvalidDocuments([f"{folder}: not a folder"])
    paths = sorted(folder.rglob("*.graphql"))
    if not paths:
        raise InvalidDocuments([f"{folder}: no .graphql files"])
    checker = DocumentChecker(settings)
    sources, problems = [], []
    for path in paths:
        name = path.relative_to(folder).with_suffix("").as_posix()
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(f"{path}: cannot be read as UTF-8 ({exc})")
            continue
        problems.extend(f"{path}: {problem}" for problem in checker.problems(text))
        sources.append(DocumentSource(name=name, text=text))
    if problems:
        raise InvalidDocuments(problems)
    return sources


class DocumentChecker:
    """Parses with the token limit, then checks the size limits and validates with the
    rules a request meets, in the same order; the operator sees the full messages."""

    def __init__(self, settings: Settings) -> None:
        self.schema = strawberry_internals.graphql_schema(build_schema(settings))
        self.limits = EdgeLimits.of(settings)
        rules = validation_rules(production=settings.is_production)
        self.rules = (*specified_rules, *rules)
        self.validator = DocumentValidator(self.limits, hide_messages=False)

    def problems(self, text: str) -> list[str]:
        try:
            document = parse(text, max_tokens=self.limits.max_tokens)
        except GraphQLError as error:
            return [_describe(error)]
        if not any(isinstance(d, OperationDefinitionNode) for d in document.definitions):
            return ["no operation in the document"]
        errors = self.validator.validate(self.schema, document, self.rules)
        return [_describe(error) for error in errors]


def _describe(error: GraphQLError) -> str:
    where = ", ".join(f"line {loc.line} column {loc.column}" for loc in error.locations or ())
    return f"{error.message} ({where})" if where else error.message
