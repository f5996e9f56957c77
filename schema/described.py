"""`@field(description=...)` and `@mutation(description=...)`, typed.

Strawberry types `@strawberry.field` and `@strawberry.mutation` called with keyword arguments
only as returning Any (its overloads cannot tell the decorator from the field), which makes
every method they decorate untyped to mypy. These make the same call, with the resolver as
the first argument, where strawberry's overloads do say what comes back.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import strawberry
from strawberry.types.field import StrawberryField

Resolver = Callable[..., Any]


def field(*, description: str) -> Callable[[Resolver], StrawberryField]:
    def declare(resolver: Resolver) -> StrawberryField:
        return strawberry.field(resolver, description=description)

    return declare


def mutation(*, description: str) -> Callable[[Resolver], StrawberryField]:
    def declare(resolver: Resolver) -> StrawberryField:
        return strawberry.mutation(resolver, description=description)

    return declare
