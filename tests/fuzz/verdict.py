"""What a fuzzed response may be. Everything else is a finding.

A request refused before anything ran (HTTP 400 under `application/graphql-response+json`,
no `data`) may only carry REQUEST_ERRORS. An executed one (HTTP 200) may carry FIELD_ERRORS at
query fields and nested fields, but at a mutation's root field only the access errors: a
mutation's expected failures are typed errors in its result union, never top-level."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from tests.fuzz.cases import FuzzCase

REQUEST_ERRORS: dict[str | None, str] = {
    "QUERY_TOO_COMPLEX": "depth, aliases, tokens or cost over the edge limits",
    "VALIDATION": "a page size (`first`) outside 1..100, a variable of the wrong type, "
    "text with a NUL character or longer than its limit",
}
INVALID_DOCUMENT_ERRORS: dict[str | None, str] = {
    "VALIDATION": "graphql-core's validation (schema.limits codes its errors)",
    None: "the parser",
}
FIELD_ERRORS: dict[str | None, str] = {
    "UNAUTHENTICATED": "an anonymous caller asks for more than the catalog and `viewer`",
    "FORBIDDEN": "the principal's kind or role may not use the field",
    "VALIDATION": "an argument that names nothing: not a cursor, not exactly one key, ...",
}
MUTATION_ROOT_ERRORS = frozenset({"UNAUTHENTICATED", "FORBIDDEN"})


@dataclass(frozen=True)
class Finding:
    principal: str
    operation: str
    problem: str
    query: str
    answer: str

    def __str__(self) -> str:
        return (
            f"{self.operation} as {self.principal}: {self.problem}\n"
            f"{self.query}\n-> {self.answer[:600]}"
        )


def judge(case: FuzzCase, principal: str, response: httpx.Response) -> list[Finding]:
    def finding(problem: str) -> Finding:
        return Finding(principal, case.operation, problem, case.query, response.text)

    if response.status_code not in (200, 400):
        return [finding(f"HTTP {response.status_code}")]
    try:
        body = response.json()
    except ValueError:
        return [finding("the body is not JSON")]
    if response.status_code == 400:
        if "data" in body or not body.get("errors"):
            return [finding("a 400 with data, or without errors")]
        allowed = REQUEST_ERRORS if case.valid else INVALID_DOCUMENT_ERRORS
        return [finding(problem) for problem in _request_problems(body["errors"], allowed)]
    if not case.valid:
        return [finding("a document that breaks the spec was executed")]
    if "data" not in body:
        return [finding("a 200 without data")]
    mutation = case.operation.startswith("Mutation.")
    return [finding(problem) for problem in _field_problems(body.get("errors", []), mutation)]


def _code(error: dict[str, Any]) -> str | None:
    code = (error.get("extensions") or {}).get("code")
    return code if isinstance(code, str) else None


def _request_problems(errors: list[dict[str, Any]], allowed: dict[str | None, str]) -> list[str]:
    return [
        f"request error {_code(error)}: {error.get('message')}"
        for error in errors
        if _code(error) not in allowed
    ]


def _field_problems(errors: list[dict[str, Any]], mutation: bool) -> list[str]:
    problems = []
    for error in errors:
        code, path = _code(error), error.get("path") or []
        allowed = MUTATION_ROOT_ERRORS if mutation and len(path) == 1 else FIELD_ERRORS
        if code not in allowed:
            problems.append(f"top-level {code} at {path}: {error.get('message')}")
    return problems
