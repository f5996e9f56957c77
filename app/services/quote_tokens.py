"""Binding quotes as signed tokens: `orderQuote` stores nothing, and `orderPlace` can trust
exactly what was quoted (lines, totals, the input and the state it was priced on)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime
from typing import Any

import orjson

from app.domain.errors import DomainError, ErrorCode

_VERSION = 1


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(payload: dict[str, Any], secret: bytes) -> str:
    body = _b64(orjson.dumps({"v": _VERSION, **payload}, option=orjson.OPT_SORT_KEYS))
    signature = hmac.new(secret, body.encode(), hashlib.sha256).digest()
    return f"{body}.{_b64(signature)}"


def verify(token: str, secret: bytes) -> dict[str, Any]:
    """The payload of a token this service signed; anything else is a VALIDATION error."""
    body, _, signature = token.strip().partition(".")
    try:
        expected = hmac.new(secret, body.encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(expected, _unb64(signature)):
            raise ValueError("bad signature")
        payload: dict[str, Any] = orjson.loads(_unb64(body))
    except (ValueError, orjson.JSONDecodeError) as exc:
        raise DomainError(ErrorCode.VALIDATION, "This is not a quote token from this API.") from exc
    if payload.get("v") != _VERSION:
        raise DomainError(ErrorCode.VALIDATION, "This quote token is from an older version.")
    return payload


def digest(token: str) -> str:
    return hashlib.sha256(token.strip().encode()).hexdigest()


def check_fresh(payload: dict[str, Any], now: datetime) -> None:
    if now >= datetime.fromisoformat(payload["expires_at"]):
        raise DomainError(ErrorCode.QUOTE_EXPIRED, "This quote has expired; ask for a new one.")
