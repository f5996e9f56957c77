"""The documentation stays true to the repository: every link between its pages resolves
(file and heading), every setting the app reads is on the configuration page, the worked
examples of docs/domain.md name tests that exist, and no page, comment or docstring cites a
file kept outside the repository."""

from __future__ import annotations

import ast
import re
import subprocess
from pathlib import Path

from app.config import Settings

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", *sorted((ROOT / "docs").glob("*.md"))]
_LINK = re.compile(r"\]\(([^)\s]+)\)")
_FENCE = re.compile(r"^```.*?^```", re.S | re.M)
_NAMED_TEST = re.compile(r"`(tests/[\w/]+\.py)::(\w+)`")


def _anchors(page: Path) -> set[str]:
    """GitHub's heading ids: lower case, punctuation dropped, spaces as hyphens."""
    text = _FENCE.sub("", page.read_text())
    headings = re.findall(r"^#{1,6} (.+)$", text, re.M)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}


def test_every_link_between_pages_resolves() -> None:
    broken = []
    for page in PAGES:
        for target in _LINK.findall(_FENCE.sub("", page.read_text())):
            if re.match(r"[a-z]+:", target):  # https:, mailto:
                continue
            path, _, anchor = target.partition("#")
            resolved = (page.parent / path).resolve() if path else page
            if not resolved.is_relative_to(ROOT):
                broken.append(f"{page.name}: {target} (outside the repository)")
            elif not resolved.exists():
                broken.append(f"{page.name}: {target}")
            elif anchor and resolved.suffix == ".md" and anchor not in _anchors(resolved):
                broken.append(f"{page.name}: {target} (no such heading)")
    assert broken == []


def test_every_setting_is_on_the_configuration_page() -> None:
    text = (ROOT / "docs" / "configuration.md").read_text()
    missing = [name.upper() for name in Settings.model_fields if name.upper() not in text]
    assert missing == []


def _functions(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    kinds = (ast.FunctionDef, ast.AsyncFunctionDef)
    return {node.name for node in ast.walk(tree) if isinstance(node, kinds)}


def test_every_worked_example_names_tests_that_exist() -> None:
    text = (ROOT / "docs" / "domain.md").read_text()
    examples = text.split("## 9. Worked examples", 1)[1]
    named = _NAMED_TEST.findall(examples)

    missing = [f"{file}::{name}" for file, name in named if name not in _functions(ROOT / file)]
    assert missing == []
    for number in range(1, 7):
        item = examples.split(f"\n{number}. ", 1)[1].split(f"\n{number + 1}. ", 1)[0]
        assert _NAMED_TEST.search(item), f"worked example {number} names no test"


def test_nothing_cites_a_file_outside_the_repository() -> None:
    outside = ["/work/", "shared/", *(f"{name}.md" for name in ("DOMAIN", "ARCHITECTURE"))]
    outside += [f"{name}.md" for name in ("API", "STYLE")]
    files = subprocess.run(
        ["git", "ls-files", "app", "resolvers", "schema", "tests", "bench", "docs", "migrations"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    own = Path(__file__).resolve().relative_to(ROOT).as_posix()  # it spells the names out
    texts = [ROOT / f for f in files if f.endswith((".py", ".md", ".graphql")) and f != own]
    cited = [
        f"{path.relative_to(ROOT)}: {needle}"
        for path in [*texts, ROOT / "README.md", ROOT / "CONTRIBUTING.md"]
        if path.exists()
        for needle in outside
        if needle in path.read_text()
    ]
    assert cited == []
