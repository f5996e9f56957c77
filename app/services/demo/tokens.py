"""`demo_tokens`: bearer tokens for the demo's people and API clients (development only)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from app.auth.tokens import demo_api_token, issue_user_jwt
from app.config import Settings
from app.domain.enums import TokenKind
from app.services.demo.world import API_TOKENS, CUSTOMERS, PARTNERS, USERS


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


@dataclass(frozen=True, slots=True)
class DemoSignIn:
    """One demo person or partner the portal's sign-in picker offers, with its token."""

    key: str
    name: str
    description: str
    token: str


def demo_sign_ins(settings: Settings, now: datetime) -> list[DemoSignIn]:
    """The demo's customer users and partner tokens (never staff or the product service):
    who may sign in to the portal on a development server (docs/portal.md)."""
    tokens = demo_tokens(settings, now)
    customers = {spec.key: spec.name for spec in CUSTOMERS}
    partners = {spec.key: spec.name for spec in PARTNERS}
    people = [
        DemoSignIn(
            key=user.token_key,
            name=user.person.name,
            description=", ".join(
                f"{role.value.replace('_', ' ').lower()} of {customers[customer]}"
                for customer, role in user.roles
            ),
            token=tokens[user.token_key],
        )
        for user in USERS
        if user.token_key is not None
    ]
    resellers = [
        DemoSignIn(
            key=spec.token_key,
            name=spec.name,
            description=f"partner {partners[spec.partner]}",
            token=tokens[spec.token_key],
        )
        for spec in API_TOKENS
        if spec.kind is TokenKind.PARTNER and spec.partner is not None
    ]
    return people + resellers
