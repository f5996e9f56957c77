"""docs/domain.md names, for each worked example, the tests that reproduce it: each named
test exists, so the rulebook never points at a test that was renamed or removed."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_NAMED = re.compile(r"`(tests/[\w/]+\.py)::(\w+)`")


def _tests_in(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    functions = (ast.FunctionDef, ast.AsyncFunctionDef)
    return {node.name for node in ast.walk(tree) if isinstance(node, functions)}


def test_every_worked_example_names_tests_that_exist() -> None:
    text = (ROOT / "docs" / "domain.md").read_text()
    examples = text.split("## 9. Worked examples", 1)[1]
    named = _NAMED.findall(examples)

    assert len({name for _, name in named}) >= 6, named
    missing = [f"{file}::{name}" for file, name in named if name not in _tests_in(ROOT / file)]
    assert missing == []
    for number in range(1, 7):
        item = examples.split(f"\n{number}. ", 1)[1].split(f"\n{number + 1}. ", 1)[0]
        assert _NAMED.search(item), f"worked example {number} names no test"
