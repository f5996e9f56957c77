"""A user JWT may not outlive JWT_MAX_LIFETIME_SECONDS (default 24 h), nor be issued ahead."""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.tokens import InvalidCredentials, verify_user_jwt
from app.config import Settings
from tests.support import factories as f
from tests.support.graphql import Api, error_codes

HOUR = 3600
NOW = time.time()


def _token(settings: Settings, **times: float) -> str:
    claims: dict[str, Any] = {
        "sub": "jwt-user",
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        **times,
    }
    return jwt.encode(claims, settings.jwt_secret, algorithm="HS256")


@pytest.fixture
async def member(db: AsyncSession) -> None:
    await f.user(db, member_of=await f.customer(db), external_id="jwt-user", name="Jwt User")


async def _viewer(api: Api, token: str) -> tuple[int, dict[str, Any]]:
    response = await api.post("{ viewer { name } }", token=token)
    return response.status_code, response.json()


@pytest.mark.parametrize(
    ("times", "words"),
    [
        ({"exp": 1e20 - NOW}, "expires more than 86400 seconds from now"),
        ({"exp": 25 * HOUR}, "expires more than 86400 seconds from now"),
        ({"iat": -2 * HOUR, "exp": 23 * HOUR}, "lifetime exp - iat exceeds 86400 seconds"),
        ({"iat": 120, "exp": 2 * HOUR}, "The token is not yet valid (iat)"),
    ],
    ids=["exp 1e20", "exp in 25 h without iat", "issued for 25 h", "iat 2 min ahead"],
)
async def test_a_token_beyond_the_cap_is_unauthenticated(
    member: None, api: Api, settings: Settings, times: dict[str, float], words: str
) -> None:
    now = time.time()
    status, body = await _viewer(api, _token(settings, **{k: now + v for k, v in times.items()}))
    assert (status, error_codes(body), body.get("data")) == (401, ["UNAUTHENTICATED"], None)
    assert words in body["errors"][0]["message"]


async def test_a_token_within_the_cap_and_the_clock_skew_is_accepted(
    member: None, api: Api, settings: Settings
) -> None:
    now = time.time()
    for times in ({"iat": now, "exp": now + 24 * HOUR}, {"exp": now + 24 * HOUR}, {
        "iat": now + 20, "exp": now + HOUR}):  # fmt: skip
        status, body = await _viewer(api, _token(settings, **times))
        assert (status, body["data"]) == (200, {"viewer": {"name": "Jwt User"}}), times


def test_the_cap_is_a_setting() -> None:
    settings = Settings(environment="test", jwt_max_lifetime_seconds=HOUR)
    now = time.time()
    assert verify_user_jwt(settings, _token(settings, iat=now, exp=now + HOUR)).external_id
    with pytest.raises(InvalidCredentials, match="exceeds 3600 seconds"):
        verify_user_jwt(settings, _token(settings, iat=now - 60, exp=now + HOUR))


@pytest.mark.parametrize(
    "times",
    [{"exp": "9999999999"}, {"exp": 3600.0, "iat": "0"}, {"exp": 3600.0, "iat": True}],
    ids=["exp a string", "iat a string", "iat a boolean"],
)
async def test_a_time_claim_that_is_not_a_number_is_unauthenticated_not_a_500(
    member: None, api: Api, settings: Settings, times: dict[str, Any]
) -> None:
    """PyJWT takes whatever int() takes; the lifetime check must not then fail on it."""
    now = int(time.time())
    claims = {k: (f"{now + int(v)}" if isinstance(v, str) else now + v) for k, v in times.items()}
    claims = {k: (v if not isinstance(times[k], bool) else True) for k, v in claims.items()}
    status, body = await _viewer(api, _token(settings, **claims))
    assert (status, error_codes(body), body.get("data")) == (401, ["UNAUTHENTICATED"], None)
    assert "must be a number (a NumericDate)" in body["errors"][0]["message"]
