"""The fuzz cases: schemathesis (GraphQL mode) draws operations for every root Query and
Mutation field from the schema the app introspects, with the world's real ids, numbers and
tokens planted in the arguments that take them. Hypothesis is derandomized, so the same
schema and world give the same documents on every run."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import graphql
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.config import SchemathesisConfig

DEFAULT_EXAMPLES = 10
PLANTED = 0.75  # how often a bound argument takes a planted value instead of a drawn one

# Fields whose resolver takes exactly one of their (optional) arguments.
EXACTLY_ONE_ARGUMENT = frozenset({"Query.subscription"})

# Argument path (`<Type>.<field>.<argument>[.<input field>]`, `*` for any) -> dictionary.
BINDINGS: dict[str, str] = {
    "*.*.id": "ids",
    "*.*.ids[*]": "ids",
    "*.*.addOnPurchaseId": "ids",
    "*.*.input.customerId": "ids",
    "*.*.input.subscriptionId": "ids",
    "*.*.filter.customerId": "ids",
    "*.*.filter.subscriptionId": "ids",
    "*.*.filter.targetId": "ids",
    "*.*.first": "page_sizes",
    "*.*.after": "cursors",
    "*.*.number": "numbers",
    "*.*.deployment": "deployments",
    "*.*.input.deployment.externalId": "deployments",
    "*.*.input.actions[*].createSubscription.deployment.externalId": "deployments",
    "*.*.input.actions[*].createSubscription.plan": "codes",
    "*.*.input.actions[*].changePlan.plan": "codes",
    "*.*.input.actions[*].addAddOn.addOn": "codes",
    "*.*.input.actions[*].buyPack.pack": "codes",
    "*.*.filter.plan[*]": "codes",
    "*.*.addOnMetrics[*].code": "codes",
    "*.*.userIds[*]": "user_ids",
    "*.*.quoteToken": "quote_tokens",
    "*.*.activationCode": "activation_codes",
    "*.*.instanceId": "instance_ids",
    "*.*.licenseKey": "license_keys",
}


@dataclass(frozen=True)
class FuzzCase:
    operation: str  # e.g. "Mutation.orderPlace"
    query: str
    # Documents that break the spec (an empty @oneOf input, say) must be refused, with
    # graphql-core's validation errors; valid ones must never be.
    valid: bool


def examples_per_operation() -> int:
    """FUZZ_EXAMPLES=200 for a longer hunt; the suite's default stays well under a minute."""
    return int(os.environ.get("FUZZ_EXAMPLES", DEFAULT_EXAMPLES))


def _minor_units() -> Any:
    """`MinorUnits` (schema/minor_units.py): a string of digits, or an Int, in signed 64 bits.
    (A literal past that range is answered INTERNAL today, not VALIDATION: a known bug of the
    scalar's literal parsing, left to its own fix.)"""
    from schemathesis.graphql import nodes

    amounts = st.integers(min_value=-(2**63), max_value=2**63 - 1)
    return st.one_of(
        amounts.map(lambda n: nodes.String(str(n))),
        st.integers(min_value=-(2**31), max_value=2**31 - 1).map(nodes.Int),
    )


def load_schema(introspection: dict[str, Any], values: dict[str, list[Any]]) -> Any:
    # Scalars of our own need a strategy (an input that requires one cannot be drawn without).
    schemathesis.graphql.scalar("MinorUnits", _minor_units())
    config = SchemathesisConfig.from_dict(
        {
            "dictionaries": {name: {"values": entries} for name, entries in values.items()},
            "parameters": {
                path: {"dictionary": name, "probability": PLANTED}
                for path, name in BINDINGS.items()
            },
        }
    )
    return schemathesis.graphql.from_dict(introspection, config=config)


def operation_labels(schema: Any) -> list[str]:
    return [result.ok().label for result in schema.get_all_operations()]


def draw_cases(schema: Any, examples: int) -> list[FuzzCase]:
    """`examples` documents per root field (fewer where they repeat), in schema order."""
    cases: list[FuzzCase] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        client_schema = schema.client_schema
        drawn = (_one_key_each(client_schema, query) for query in _draw(operation, examples))
        cases.extend(
            FuzzCase(operation.label, query, _is_valid(client_schema, query))
            for query in dict.fromkeys(drawn)
        )
    return cases


class _OneKey(graphql.Visitor):
    """Keeps the first non-null field of each @oneOf input object, and the first non-null
    argument of the fields that take exactly one (hypothesis-graphql draws several), so that
    most documents reach the resolvers instead of the refusal they would all get."""

    def __init__(self, types: graphql.TypeInfo) -> None:
        super().__init__()
        self.types = types

    def enter_object_value(self, node: graphql.ObjectValueNode, *_: Any) -> Any:
        input_type = graphql.get_named_type(self.types.get_input_type())
        if not isinstance(input_type, graphql.GraphQLInputObjectType) or not input_type.is_one_of:
            return None
        chosen = _first_set(node.fields)
        return graphql.ObjectValueNode(fields=chosen) if chosen else None

    def enter_field(self, node: graphql.FieldNode, *_: Any) -> Any:
        parent = self.types.get_parent_type()
        if parent is None or f"{parent.name}.{node.name.value}" not in EXACTLY_ONE_ARGUMENT:
            return None
        chosen = _first_set(node.arguments or ())
        return graphql.FieldNode(
            alias=node.alias,
            name=node.name,
            arguments=chosen or node.arguments,
            directives=node.directives,
            selection_set=node.selection_set,
        )


def _first_set(nodes: Any) -> tuple[Any, ...]:
    return tuple(node for node in nodes if not isinstance(node.value, graphql.NullValueNode))[:1]


def _one_key_each(client_schema: graphql.GraphQLSchema, query: str) -> str:
    types = graphql.TypeInfo(client_schema)
    document = graphql.visit(graphql.parse(query), graphql.TypeInfoVisitor(types, _OneKey(types)))
    return graphql.print_ast(document)


def _is_valid(client_schema: graphql.GraphQLSchema, query: str) -> bool:
    return not graphql.validate(client_schema, graphql.parse(query))


def _draw(operation: Any, examples: int) -> list[str]:
    queries: list[str] = []

    @settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(operation.as_strategy())
    def collect(case: Any) -> None:
        queries.append(case.body)

    collect()
    return queries
