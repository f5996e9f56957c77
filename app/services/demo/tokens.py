"""`demo_tokens`: bearer tokens for the demo's people and API clients (development only)."""

from __future__ import annotations

from datetime import datetime, timedelta

from app.auth.tokens import demo_api_token, issue_user_jwt
from app.config import Settings
from app.services.demo.world import API_TOKENS, USERS

USER_TOKEN_TTL = timedelta(days=30)


def demo_tokens(settings: Settings, now: datetime) -> dict[str, str]:
    """JWTs for the demo users (30 days) and the API tokens `seed_demo` stored, by role key."""
    if settings.is_production:
        raise RuntimeError("demo tokens are for development only, never for production")
    tokens = {
        user.token_key: issue_user_jwt(settings, user.external_id, now, ttl=USER_TOKEN_TTL)
        for user in USERS
        if user.token_key is not None
    }
    tokens.update((spec.token_key, demo_api_token(settings, spec.label)) for spec in API_TOKENS)
    return tokens
