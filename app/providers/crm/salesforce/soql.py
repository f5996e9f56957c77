"""SOQL the provider sends: `SELECT fields FROM object WHERE field IN (literals)`.

A literal is quoted with `'` and escapes `\\` and `'` with a backslash (SOQL's string
escapes), so a ref holding a quote or a backslash stays inside its literal. Other
characters go as they are: the query travels URL-encoded.

A SOQL statement may be 100,000 characters long, and the URL of a GET some 16,000; a batch
is split into queries of at most MAX_REFS_PER_QUERY refs (about 70 characters each at
most, as refs are), so a DataLoader's batch (<= 100) is always one query.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

MAX_REFS_PER_QUERY = 200


def literal(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def select_in(
    fields: Sequence[str], sobject: str, field: str, values: Sequence[str], order_by: str = ""
) -> str:
    listed = ", ".join(literal(value) for value in values)
    query = f"SELECT {', '.join(fields)} FROM {sobject} WHERE {field} IN ({listed})"
    return f"{query} ORDER BY {order_by}" if order_by else query


def chunks(values: Sequence[str], size: int = MAX_REFS_PER_QUERY) -> Iterator[list[str]]:
    """The distinct values, in order, `size` at a time."""
    distinct = list(dict.fromkeys(values))
    for start in range(0, len(distinct), size):
        yield distinct[start : start + size]
