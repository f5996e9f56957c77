"""schema.document_size: what it counts, each fragment once, and as strawberry's alias
rule counted (the rule it replaces)."""

from __future__ import annotations

import pytest
from graphql import parse
from strawberry.extensions.max_aliases import count_fields_with_alias

from schema.document_size import measure, repeated_pairs
from tests.api.test_document_size import bomb


def test_the_measure_counts_each_fragment_once() -> None:
    size = measure(parse(bomb(30)))

    # 2^30 fields in the operation, 2^i more in each fragment definition F<i>.
    assert size.fields == 2**30 + sum(2**i for i in range(31)) == 3 * 2**30 - 1
    assert size.operations[0].size.depth == 1


@pytest.mark.parametrize(
    "query",
    [
        "{ a: products { b: code } c: products { code } }",
        "query Q { ...F ...F } fragment F on Query { x: products { y: code } }",
        "{ viewer { ... on Viewer { n: name } } } query Two { t: __typename }",
    ],
)
def test_aliases_are_counted_as_strawberrys_rule_counted_them(query: str) -> None:
    document = parse(query)
    fragments = {d.name.value: d for d in document.definitions if d.kind == "fragment_definition"}
    operations = [d for d in document.definitions if d.kind == "operation_definition"]

    assert measure(document).aliases == sum(
        count_fields_with_alias(operation, fragments) for operation in operations
    )


def test_repeated_pairs_count_selections_of_one_response_path() -> None:
    # products x3 at the root: 3 pairs; products.code x3 (one per products): 3 pairs;
    # `name` once, `n: products` a path of its own.
    query = (
        "{ products { code } products { code name } ...A n: products { code } }"
        " fragment A on Query { products { code } }"
    )

    assert repeated_pairs(parse(query)) == 3 + 3
