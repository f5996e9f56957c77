"""The OAuth 2.0 JWT bearer flow: an RS256 assertion (iss: the consumer key, sub: the
username, aud: the login URL, exp: a short while ahead) posted to the login URL's
`/services/oauth2/token` with grant_type urn:ietf:params:oauth:grant-type:jwt-bearer. The
answer's `access_token` and `instance_url` make the session. Salesforce refuses a bad
signature, an unknown user or an expired assertion with 400 {"error": "invalid_grant"}.
The flow issues no refresh token: an expired session is replaced by a new assertion."""

from __future__ import annotations

from dataclasses import dataclass

import jwt

from app.providers.crm.salesforce.settings import SalesforceSettings

TOKEN_PATH = "/services/oauth2/token"
GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer"


@dataclass(frozen=True, slots=True)
class Session:
    access_token: str
    instance_url: str


def assertion(settings: SalesforceSettings, now: float) -> str:
    claims = {
        "iss": settings.client_id,
        "sub": settings.username,
        "aud": settings.login_url.rstrip("/"),
        "exp": int(now) + settings.assertion_seconds,
    }
    return jwt.encode(claims, settings.private_key, algorithm="RS256")


def token_form(settings: SalesforceSettings, now: float) -> dict[str, str]:
    return {"grant_type": GRANT_TYPE, "assertion": assertion(settings, now)}


def session_of(body: object) -> Session | None:
    """The session of a token answer; None for an answer without one."""
    if not isinstance(body, dict):
        return None
    token, instance = body.get("access_token"), body.get("instance_url")
    if not isinstance(token, str) or not isinstance(instance, str) or not token or not instance:
        return None
    return Session(token, instance.rstrip("/"))
