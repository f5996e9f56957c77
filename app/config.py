"""Settings from environment variables, validated once at start-up."""

from __future__ import annotations

import hashlib
import hmac
from enum import StrEnum
from functools import cached_property

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEVELOPMENT_SECRET = "development-only-secret-change-me-0123456789"


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="ignore")

    environment: Environment = Environment.DEVELOPMENT
    database_url: str = "sqlite+aiosqlite:///./fulfillment.db"
    database_pool_size: int = Field(default=5, ge=1, le=100)
    jwt_secret: str = DEVELOPMENT_SECRET
    jwt_issuer: str = "saas-frontend"
    jwt_audience: str = "fulfillment-api"
    billing_provider: str = "local"
    crm_provider: str = "local"
    provisioning_target: str = "local"
    public_base_url: str = "http://127.0.0.1:8000"
    quote_signing_secret: str | None = None
    quote_ttl_seconds: int = Field(default=1800, ge=60, le=86_400)

    @model_validator(mode="after")
    def _no_development_secret_in_production(self) -> Settings:
        if self.environment is Environment.PRODUCTION and self.jwt_secret == DEVELOPMENT_SECRET:
            raise ValueError("JWT_SECRET must be set to a real secret in production")
        if len(self.jwt_secret) < 32:
            raise ValueError("JWT_SECRET must be at least 32 characters")
        return self

    @cached_property
    def quote_secret(self) -> bytes:
        """Signs quote tokens; derived from JWT_SECRET unless set on its own."""
        if self.quote_signing_secret:
            return self.quote_signing_secret.encode()
        return hmac.new(self.jwt_secret.encode(), b"quote-signing", hashlib.sha256).digest()

    @cached_property
    def is_production(self) -> bool:
        return self.environment is Environment.PRODUCTION

    @cached_property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")
