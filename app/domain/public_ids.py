"""The ids the outside world is given for our rows: the GraphQL API's global ids (opaque,
`<Type>:<pk>` in URL-safe base64 without padding), and random ids for integration objects.
Kept here so the API (resolvers/ids.py) and the events sent out (app/services/
integration_events.py) name a row the same way."""

from __future__ import annotations

import base64
import secrets


def global_id(type_name: str, pk: int) -> str:
    return base64.urlsafe_b64encode(f"{type_name}:{pk}".encode()).decode().rstrip("=")


def random_id(prefix: str) -> str:
    """`<prefix>_` and 24 hex digits (96 random bits): an event's or subscriber's public id."""
    return f"{prefix}_{secrets.token_hex(12)}"
