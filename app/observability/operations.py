"""The `operation` label: a GraphQL operation name is chosen by the client, so only names of
the known documents (the frontend's, under documents/, the ones registered as trusted
documents) become label values; any other name is "other", a nameless operation
"anonymous". A caller sending a million names adds no series."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from app.observability.context import ANONYMOUS

OTHER = "other"
# The documents this repository ships (docs/api-guide.md "Trusted documents").
DOCUMENTS = Path(__file__).resolve().parents[2] / "documents"
_DEFINITION = re.compile(
    r"^\s*(?:query|mutation|subscription)\s+([_A-Za-z][_0-9A-Za-z]*)", re.MULTILINE
)


def names_in(folder: Path) -> frozenset[str]:
    """Operation names defined in the `.graphql` files under `folder` (none if absent).
    A regular expression is enough: the files are ours and checked against the schema by
    `fulfillment documents register`; app/ does not parse GraphQL."""
    if not folder.is_dir():
        return frozenset()
    return frozenset(
        name
        for path in sorted(folder.rglob("*.graphql"))
        for name in _DEFINITION.findall(path.read_text(encoding="utf-8"))
    )


class OperationLabels:
    def __init__(self, known: frozenset[str]) -> None:
        self.known = known

    @classmethod
    def shipped(cls) -> OperationLabels:
        return cls(_shipped_names())

    def label(self, name: str | None) -> str:
        if not name:
            return ANONYMOUS
        return name if name in self.known else OTHER


@cache
def _shipped_names() -> frozenset[str]:
    """Read once per process: every app a test builds would read the folder again."""
    return names_in(DOCUMENTS)
