"""Every GraphQL example in docs/staff-tools.md is valid against the live schema."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from graphql import parse, validate

from schema.build import schema

DOC = Path(__file__).resolve().parents[2] / "docs" / "staff-tools.md"
EXAMPLES = re.findall(r"```graphql\n(.*?)```", DOC.read_text(), flags=re.S)


def test_the_doc_has_examples() -> None:
    assert len(EXAMPLES) >= 5


@pytest.mark.parametrize("document", EXAMPLES)
def test_an_example_validates(document: str) -> None:
    assert validate(schema._schema, parse(document)) == []
