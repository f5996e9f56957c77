"""`demo_tokens`: bearer tokens for the demo's people and API clients (development only)."""

from __future__ import annotations

from datetime import datetime, timedelta

from app.auth.tokens import demo_api_token, issue_user_jwt
from app.config import Settings
from app.services.demo.world import API_TOKENS, USERS


def demo_tokens(settings: Settings, now: datetime) -> dict[str, str]:
    """JWTs for the demo users (as long as JWT_MAX_LIFETIME_SECONDS allows) and the API
    tokens `seed_demo` stored, by role key."""
    if settings.is_production:
        raise RuntimeError("demo tokens are for development only, never for production")
    ttl = timedelta(seconds=settings.jwt_max_lifetime_seconds)
    tokens = {
        user.token_key: issue_user_jwt(settings, user.external_id, now, ttl=ttl)
        for user in USERS
        if user.token_key is not None
    }
    tokens.update((spec.token_key, demo_api_token(settings, spec.label)) for spec in API_TOKENS)
    return tokens
