"""The SOQL the fake understands: exactly the queries the provider sends,
`SELECT f1, f2 FROM Object WHERE field IN ('a', 'b') [ORDER BY f3, f4]`, fields possibly
one relationship deep (`Account.External_Id__c`). String literals take SOQL's backslash
escapes. Anything else is a MALFORMED_QUERY, as Salesforce would answer."""

from __future__ import annotations

import re
from dataclasses import dataclass

_QUERY = re.compile(
    r"^\s*SELECT\s+(?P<fields>.+?)\s+FROM\s+(?P<sobject>\w+)\s+WHERE\s+(?P<field>[\w.]+)"
    r"\s+IN\s*\((?P<values>.*)\)(?:\s+ORDER\s+BY\s+(?P<order>[\w.]+(?:\s*,\s*[\w.]+)*))?\s*$",
    re.IGNORECASE | re.DOTALL,
)
_FIELD = re.compile(r"^\w+(\.\w+)?$")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "'": "'", '"': '"', "\\": "\\"}


class MalformedQuery(Exception):
    pass


@dataclass(frozen=True, slots=True)
class Query:
    fields: tuple[str, ...]
    sobject: str
    field: str
    values: tuple[str, ...]
    order_by: tuple[str, ...]


def parse(text: str) -> Query:
    found = _QUERY.match(text)
    if found is None:
        raise MalformedQuery(f"unexpected token in: {text[:80]}")
    fields = tuple(each.strip() for each in found["fields"].split(","))
    order = tuple(each.strip() for each in (found["order"] or "").split(",") if each.strip())
    if not all(_FIELD.match(each) for each in fields):
        raise MalformedQuery(f"unexpected field list: {found['fields'][:80]}")
    return Query(fields, found["sobject"], found["field"], _literals(found["values"]), order)


def _literals(text: str) -> tuple[str, ...]:
    """'a', 'b\\'c' -> ("a", "b'c"); a quote left open or anything between them is refused."""
    values: list[str] = []
    at = 0
    while True:
        at = _skip_space(text, at)
        if at >= len(text) or text[at] != "'":
            raise MalformedQuery("expected a string literal")
        value, at = _literal(text, at + 1)
        values.append(value)
        at = _skip_space(text, at)
        if at == len(text):
            return tuple(values)
        if text[at] != ",":
            raise MalformedQuery(f"unexpected {text[at]!r} after a literal")
        at += 1


def _literal(text: str, at: int) -> tuple[str, int]:
    chars: list[str] = []
    while at < len(text):
        char = text[at]
        if char == "\\":
            escaped = text[at + 1 : at + 2]
            if escaped not in _ESCAPES:
                raise MalformedQuery(f"invalid escape \\{escaped}")
            chars.append(_ESCAPES[escaped])
            at += 2
        elif char == "'":
            return "".join(chars), at + 1
        else:
            chars.append(char)
            at += 1
    raise MalformedQuery("a string literal is not closed")


def _skip_space(text: str, at: int) -> int:
    while at < len(text) and text[at].isspace():
        at += 1
    return at
