"""Each mutation's result union holds its payload and only the errors it can return, as
docs/api-errors.md lists them; and a fragment on an error a union no longer holds is refused."""

from __future__ import annotations

import pathlib
import re

from graphql import GraphQLNonNull, GraphQLUnionType, parse, validate

from schema import strawberry_internals
from schema.build import schema

DOC = pathlib.Path(__file__).resolve().parents[2] / "docs" / "api-errors.md"
ROW = re.compile(r"^\| `(\w+)` \| `(\w+)` \| ([\w, ]+) \|$", re.M)


def _documented() -> dict[str, tuple[str, set[str]]]:
    return {
        mutation: (union, {name.strip() for name in errors.split(",")})
        for mutation, union, errors in ROW.findall(DOC.read_text())
    }


def _schema_unions() -> dict[str, tuple[str, set[str]]]:
    graphql = strawberry_internals.graphql_schema(schema)
    assert graphql.mutation_type is not None
    found = {}
    for name, field in graphql.mutation_type.fields.items():
        kind = field.type.of_type if isinstance(field.type, GraphQLNonNull) else field.type
        if not isinstance(kind, GraphQLUnionType):
            continue
        members = {member.name for member in kind.types}
        errors = {m for m in members if _is_user_error(graphql.type_map[m])}
        found[name] = (kind.name, errors)
    return found


def _is_user_error(kind: object) -> bool:
    return any(i.name == "UserError" for i in getattr(kind, "interfaces", ()))


def test_every_mutation_result_is_a_union_with_errors() -> None:
    unions = _schema_unions()
    graphql = strawberry_internals.graphql_schema(schema)
    assert graphql.mutation_type is not None
    assert set(unions) == set(graphql.mutation_type.fields)
    assert all(errors for _, errors in unions.values())


def test_the_documented_table_is_the_schema() -> None:
    assert _documented() == _schema_unions()


def test_unions_no_longer_offer_what_their_mutation_cannot_return() -> None:
    unions = _schema_unions()
    assert "ProviderError" not in unions["trialStart"][1]
    assert "QuoteError" not in unions["addOnSeatAssign"][1]
    assert unions["integrationSubscriberCreate"][1] == {"ValidationError"}
    assert unions["orderPlace"][1] == {
        "ValidationError",
        "NotFoundError",
        "RuleViolation",
        "QuoteError",
        "PaymentDeclinedError",
        "ProviderError",
    }


def test_a_fragment_on_an_error_the_union_lacks_is_refused() -> None:
    document = parse(
        'mutation { testClockAdvance(to: "2030-01-01T00:00:00Z") { ... on QuoteError { code } } }'
    )
    errors = validate(strawberry_internals.graphql_schema(schema), document)
    assert any("QuoteError" in error.message for error in errors)
    interface = parse(
        'mutation { testClockAdvance(to: "2030-01-01T00:00:00Z") { ... on UserError { code } } }'
    )
    messages = [e.message for e in validate(strawberry_internals.graphql_schema(schema), interface)]
    assert not any("UserError" in message for message in messages)
