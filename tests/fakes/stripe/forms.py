"""Stripe's form encoding -> nested params: `items[0][price]=x`, `metadata[k]=v`,
`expand[]=a` (or `expand[0]=a`, as the Python SDK sends it)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

_PART = re.compile(r"\[([^\]]*)\]")


def parse(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    root: dict[str, Any] = {}
    for key, value in pairs:
        head, _, rest = key.partition("[")
        path = [head, *_PART.findall("[" + rest)] if rest else [head]
        _put(root, path, value)
    return _listify(root)


def _put(node: dict[str, Any], path: list[str], value: str) -> None:
    for part in path[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            node[part] = child = {}
        node = child
    last = path[-1]
    if last == "":
        last = str(len(node))
    node[last] = value


def _listify(value: Any) -> Any:
    """A mapping whose keys are all 0..n-1 is a list."""
    if not isinstance(value, dict):
        return value
    converted = {key: _listify(child) for key, child in value.items()}
    if converted and all(key.isdigit() for key in converted):
        return [converted[key] for key in sorted(converted, key=int)]
    return converted
