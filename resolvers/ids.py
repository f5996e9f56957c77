"""Relay global ids and cursors: opaque to clients, checked on the way in."""

from __future__ import annotations

import base64
import binascii

from app.db.pagination import PageRequest
from app.domain.public_ids import global_id
from resolvers.errors import invalid

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20


def _encode(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _decode(value: str) -> str | None:
    try:
        padded = value + "=" * (-len(value) % 4)
        return base64.urlsafe_b64decode(padded.encode()).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None


def encode_text(text: str) -> str:
    """An opaque cursor of text (its own cursor format: `Subscription.history`)."""
    return _encode(text)


def decode_text(value: str) -> str | None:
    return _decode(value)


def to_global_id(type_name: str, pk: int) -> str:
    return global_id(type_name, pk)


def from_global_id(global_id: str) -> tuple[str, int] | None:
    """(type name, primary key), or None for anything that is not one of our ids."""
    decoded = _decode(global_id)
    if decoded is None:
        return None
    type_name, _, raw = decoded.partition(":")
    if not type_name or not _is_key(raw):
        return None
    return type_name, int(raw)


def _is_key(raw: str) -> bool:
    """ASCII digits that fit a BIGINT key: "²" is a digit to str.isdigit but not to int(),
    and a 20-digit number overflows the database's integer (both were masked errors)."""
    return raw.isascii() and raw.isdigit() and len(raw) <= 18


def expect_global_id(global_id: str, type_name: str) -> int | None:
    parsed = from_global_id(global_id)
    if parsed is None or parsed[0] != type_name:
        return None
    return parsed[1]


def to_cursor(pk: int) -> str:
    return _encode(f"cursor:{pk}")


def page_request(first: int | None, after: str | None, *, descending: bool = False) -> PageRequest:
    size = DEFAULT_PAGE_SIZE if first is None else first
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise invalid(f"`first` must be between 1 and {MAX_PAGE_SIZE}.")
    after_id = None
    if after is not None:
        decoded = _decode(after)
        prefix, _, raw = (decoded or "").partition(":")
        if prefix != "cursor" or not _is_key(raw):
            raise invalid("`after` is not a cursor from this API.")
        after_id = int(raw)
    return PageRequest(first=size, after_id=after_id, descending=descending)
