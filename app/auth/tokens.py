"""Credential checks: JWTs from the SaaS frontend and opaque API tokens (stored hashed)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import jwt

from app.config import Settings
from app.domain.enums import TokenKind

API_TOKEN_PREFIX = "fpt_"
STAFF_VIEW_PREFIX = "fsv_"  # a staff read-only view: the prefix, then a JWT
STAFF_VIEW_TTL = timedelta(hours=1)
_STAFF_VIEW_TYPE = "staff_view"
_JWT_ALGORITHM = "HS256"
# Clock skew tolerated between the frontend that signs and this service (exp, nbf, iat).
JWT_LEEWAY_SECONDS = 30


class InvalidCredentials(Exception):
    """The bearer credential is malformed, expired, revoked or unknown."""


@dataclass(frozen=True)
class UserClaims:
    external_id: str
    # Optional claims the frontend may add; a first purchase names a new portal user by them.
    email: str | None = None
    name: str | None = None


def hash_api_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_api_token() -> str:
    return API_TOKEN_PREFIX + secrets.token_urlsafe(32)


def demo_api_token(settings: Settings, label: str) -> str:
    """A deterministic development token, so `demo-tokens` can print what `seed-demo` stored."""
    digest = hmac.new(settings.jwt_secret.encode(), f"demo:{label}".encode(), "sha256")
    return API_TOKEN_PREFIX + digest.hexdigest()[:40]


def is_api_token(credential: str) -> bool:
    return credential.startswith(API_TOKEN_PREFIX)


def issue_user_jwt(
    settings: Settings, external_id: str, now: datetime, ttl: timedelta = timedelta(hours=12)
) -> str:
    claims = {
        "sub": external_id,
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "iat": int(now.timestamp()),
        "exp": int((now + ttl).timestamp()),
    }
    return jwt.encode(claims, settings.jwt_secret, algorithm=_JWT_ALGORITHM)


def verify_user_jwt(settings: Settings, token: str) -> UserClaims:
    """Checked against the wall clock (the frontend signs in real time), not the test clock."""
    try:
        claims = jwt.decode(
            token,
            settings.jwt_secret,
            algorithms=[_JWT_ALGORITHM],
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            leeway=JWT_LEEWAY_SECONDS,
            options={"require": ["sub", "exp", "iss", "aud"]},
        )
    except jwt.PyJWTError as exc:
        raise InvalidCredentials(str(exc)) from exc
    _check_lifetime(settings.jwt_max_lifetime_seconds, claims)
    return UserClaims(
        external_id=str(claims["sub"]),
        email=_optional_text(claims, "email", 320),
        name=_optional_text(claims, "name", 200),
    )


def _optional_text(claims: dict[str, Any], name: str, limit: int) -> str | None:
    """A string claim, trimmed; anything else (or too long) is as if absent."""
    value = claims.get(name)
    if not isinstance(value, str) or not value.strip() or len(value.strip()) > limit:
        return None
    return value.strip()


@dataclass(frozen=True)
class StaffViewClaims:
    admin_token_id: int
    customer_id: int


def is_staff_view_token(credential: str) -> bool:
    return credential.startswith(STAFF_VIEW_PREFIX)


def issue_staff_view_token(
    settings: Settings, admin_token_id: int, customer_id: int, now: datetime
) -> str:
    """A read-only view of one customer for the admin whose token asked for it, for an hour
    (wall clock, as every bearer is checked)."""
    claims = {
        "sub": f"staff-view:{admin_token_id}",
        "typ": _STAFF_VIEW_TYPE,
        "adm": admin_token_id,
        "cus": customer_id,
        "iss": settings.jwt_issuer,
        "aud": f"{settings.jwt_audience}:staff-view",
        "iat": int(now.timestamp()),
        "exp": int((now + STAFF_VIEW_TTL).timestamp()),
    }
    return STAFF_VIEW_PREFIX + jwt.encode(claims, settings.jwt_secret, algorithm=_JWT_ALGORITHM)


def verify_staff_view_token(settings: Settings, credential: str) -> StaffViewClaims:
    try:
        claims = jwt.decode(
            credential.removeprefix(STAFF_VIEW_PREFIX),
            settings.jwt_secret,
            algorithms=[_JWT_ALGORITHM],
            audience=f"{settings.jwt_audience}:staff-view",
            issuer=settings.jwt_issuer,
            leeway=JWT_LEEWAY_SECONDS,
            options={"require": ["sub", "exp", "iat", "iss", "aud"]},
        )
    except jwt.PyJWTError as exc:
        raise InvalidCredentials(str(exc)) from exc
    _check_lifetime(int(STAFF_VIEW_TTL.total_seconds()), claims)
    admin, customer = claims.get("adm"), claims.get("cus")
    if claims.get("typ") != _STAFF_VIEW_TYPE or not all(
        isinstance(value, int) and not isinstance(value, bool) for value in (admin, customer)
    ):
        raise InvalidCredentials("not a staff view token")
    assert isinstance(admin, int) and isinstance(customer, int)
    return StaffViewClaims(admin_token_id=admin, customer_id=customer)


def _check_lifetime(cap: int, claims: dict[str, Any]) -> None:
    """A token may not outlive the cap, counted from now and, when it says, from its issue.
    PyJWT has checked that `iat` is not in the future, but it accepts any `exp` or `iat` that
    int() takes, "9999999999" too: RFC 7519 wants JSON numbers, and we refuse anything else."""
    exp, iat = _numeric_date(claims, "exp"), _numeric_date(claims, "iat")
    assert exp is not None  # required
    if exp - time.time() > cap + JWT_LEEWAY_SECONDS:
        raise InvalidCredentials(
            f"token expires more than {cap} seconds from now (JWT_MAX_LIFETIME_SECONDS)"
        )
    if iat is not None and exp - iat > cap:
        raise InvalidCredentials(
            f"token lifetime exp - iat exceeds {cap} seconds (JWT_MAX_LIFETIME_SECONDS)"
        )


def _numeric_date(claims: dict[str, Any], name: str) -> float | None:
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidCredentials(f"the `{name}` claim must be a number (a NumericDate)")
    return value


__all__ = [
    "STAFF_VIEW_PREFIX",
    "InvalidCredentials",
    "StaffViewClaims",
    "TokenKind",
    "UserClaims",
    "demo_api_token",
    "hash_api_token",
    "is_api_token",
    "is_staff_view_token",
    "issue_staff_view_token",
    "issue_user_jwt",
    "new_api_token",
    "verify_staff_view_token",
    "verify_user_jwt",
]
