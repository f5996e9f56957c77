"""Settings from environment variables, validated once at start-up."""

from __future__ import annotations

import hashlib
import hmac
from enum import StrEnum
from typing import Annotated
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from app.domain.tax import parse_state_rates

DEVELOPMENT_SECRET = "development-only-secret-change-me-0123456789"
# Stripe's test-mode secret and restricted keys; the only ones the test clock runs with.
STRIPE_TEST_KEY_PREFIXES = ("sk_test_", "rk_test_")


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class TrustedDocumentsMode(StrEnum):
    """`enforce`: only registered documents run, except for partner and admin tokens."""

    OFF = "off"
    ENFORCE = "enforce"


class LogFormat(StrEnum):
    TEXT = "text"
    JSON = "json"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="ignore")

    environment: Environment = Environment.DEVELOPMENT
    database_url: str = "sqlite+aiosqlite:///./fulfillment.db"
    # The connection pool of EACH process (server worker, `fulfillment worker`), SQLite too;
    # docs/operations.md "Scaling out". The wait is capped at 80% of REQUEST_TIMEOUT_SECONDS.
    database_pool_size: int = Field(default=5, ge=1, le=100)
    database_max_overflow: int = Field(default=5, ge=0, le=100)
    database_pool_timeout: float = Field(default=10.0, gt=0, le=300)
    database_pool_recycle: int = Field(default=1800, ge=1, le=86_400)
    database_application_name: str = Field(default="fulfillment", min_length=1, max_length=40)
    jwt_secret: str = DEVELOPMENT_SECRET
    jwt_issuer: str = "saas-frontend"
    jwt_audience: str = "fulfillment-api"
    # A user JWT whose `exp` lies further ahead than this (or `exp - iat` spans more) is refused.
    jwt_max_lifetime_seconds: int = Field(default=86_400, ge=60, le=30 * 86_400)
    billing_provider: str = "local"
    # BILLING_PROVIDER=stripe (app/providers/billing/stripe/): the secret key, the signing
    # secret of webhook deliveries (whsec_...; unset: POST /webhooks/stripe is a 404), and
    # the API's address (tests point it at a local fake).
    stripe_api_key: str | None = None
    stripe_webhook_secret: str | None = None
    stripe_api_base: str = "https://api.stripe.com"
    # One attempt's limit, and how often the SDK retries (same Idempotency-Key); together at
    # most half of REQUEST_TIMEOUT_SECONDS.
    stripe_timeout_seconds: float = Field(default=3.0, gt=0, le=60)
    stripe_max_network_retries: int = Field(default=1, ge=0, le=5)
    # With TEST_CLOCK: how often an advance asks whether Stripe's test clocks are ready.
    stripe_test_clock_poll_seconds: float = Field(default=0.5, gt=0, le=10)
    # BILLING_PROVIDER=zuora (app/providers/billing/zuora/): the OAuth client's id and
    # secret, the REST endpoint of the tenant's data center (tests point it at a local fake),
    # and one request's limit (there are no retries: the outbox sends it again).
    zuora_client_id: str | None = None
    zuora_client_secret: str | None = None
    zuora_api_base: str = "https://rest.zuora.com"
    zuora_timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    crm_provider: str = "local"
    # CRM_PROVIDER=salesforce (app/providers/crm/salesforce/, docs/providers.md "Salesforce"): where
    # the JWT bearer assertion is exchanged (its audience too), the connected app's consumer
    # key, the integration user, and the app certificate's RSA private key as PEM text.
    salesforce_login_url: str = "https://login.salesforce.com"
    salesforce_client_id: str | None = None
    salesforce_username: str | None = None
    salesforce_private_key: str | None = None
    salesforce_api_version: str = Field(default="v61.0", pattern=r"^v\d{2,3}\.0$")
    # One HTTP call's limit; a call may take three (a new session, the call, its retry).
    salesforce_timeout_seconds: float = Field(default=4.0, gt=0, le=60)
    provisioning_target: str = "local"
    # PROVISIONING_TARGET=http: the receiver's base URL, the secret the requests are signed
    # with, and how long one request may take (docs/providers.md "Provisioning over HTTP").
    provisioning_url: str | None = None
    provisioning_signing_secret: str | None = None
    provisioning_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    # Integration events out (docs/api-guide.md "Integration events"): one delivery POST's limit,
    # and the key the subscribers' signing secrets are encrypted with (derived from JWT_SECRET
    # when unset; changing it makes the stored secrets unreadable).
    integration_timeout_seconds: float = Field(default=10.0, gt=0, le=30)
    integration_secret_key: str | None = None
    # Whether deliveries may reach private addresses (loopback, RFC 1918, link-local...):
    # unset, only outside production (app/providers/network.py).
    integration_allow_private_networks: bool | None = None
    # Development only: an admin can move the clock forward (testClockAdvance), and the
    # server can run the worker's jobs in-process.
    test_clock: bool = False
    # One testClockAdvance call stops after this much work (at most half the request limit).
    test_clock_budget_seconds: float = Field(default=5.0, gt=0, le=300)
    worker_in_process: bool = False
    # Tests only: an order waits this long after its charge succeeded, before completing it,
    # so a test can kill the process in between (tests/scaling/test_order_recovery.py).
    order_pause_after_charge_seconds: float = Field(default=0.0, ge=0.0, le=60.0)
    # The drift job (docs/operations.md "Drift detection"): each live subscription is compared with
    # the billing provider and the CRM this often (0: the job is off), this many per batch.
    drift_check_interval_seconds: int = Field(default=86_400, ge=0, le=30 * 86_400)
    drift_check_batch_size: int = Field(default=100, ge=1, le=1000)
    # E-mail: "local" keeps mail in the database (the development mailbox); "smtp" delivers.
    mailer: str = "local"
    mail_from: str = "billing@fulfillment.invalid"
    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(default=25, ge=1, le=65_535)
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    # Where clients reach this API (links such as an invoice's pdfUrl); app/http/links.py.
    public_base_url: str | None = None
    quote_signing_secret: str | None = None
    # The seller as invoices name it (docs/api-guide.md "Invoices (PDF)"); the defaults are the
    # demo's. SELLER_ADDRESS: its lines separated by newlines (or by "\n" written out).
    seller_legal_name: str = Field(default="Fulfillment Demo Vendor B.V.", min_length=1)
    seller_address: str = "Herengracht 500\n1017 CB Amsterdam\nNetherlands"
    seller_vat_id: str = "NL000099998B57"
    seller_registration_number: str = "KvK 00000000"
    seller_email: str = "billing@fulfillment.invalid"
    # Tax (docs/tax.md): "local" applies the rule table (EU VAT, reverse charge, US sales tax
    # where configured), "none" taxes nothing. The seller's country decides what a
    # domestic EU sale is (no reverse charge in the seller's own country).
    tax_provider: str = "local"
    seller_country: str = Field(default="NL", pattern=r"^[A-Z]{2}$")
    # US sales tax is off unless states are listed: "CA=7.25,TX=6.25" (percent per state,
    # the states where the seller collects; one rate per state, no local rates).
    tax_us_state_rates: str = ""
    # Ed25519 private key (PEM) that signs license keys; development/test derive one if unset.
    license_signing_key: str | None = None
    quote_ttl_seconds: int = Field(default=1800, ge=60, le=86_400)

    # The GraphQL edge: every operation is checked against these before anything runs.
    max_query_depth: int = Field(default=12, ge=1, le=100)
    max_query_aliases: int = Field(default=30, ge=0, le=1000)
    max_query_tokens: int = Field(default=2000, ge=100, le=100_000)
    # Fields once fragments are spread, and pairs of one field selected twice at one place.
    max_query_fields: int = Field(default=2000, ge=100, le=100_000)
    max_query_repeated_pairs: int = Field(default=500, ge=0, le=100_000)
    max_query_cost: int = Field(default=5000, ge=1)
    # Each principal (or client address, when anonymous) spends query cost from this budget.
    rate_limit_points: int = Field(default=50_000, ge=1)
    rate_limit_window_seconds: int = Field(default=60, ge=1, le=86_400)
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    request_timeout_seconds: float = Field(default=15.0, gt=0, le=600)
    # What an order keeps in hand of the request's time for its charge and completion: it
    # waits for its turn on a subscription until this is left (at most a third of the limit).
    order_charge_reserve_seconds: float = Field(default=5.0, gt=0, le=300)
    # Keep catalog rows read by id for the life of the process (app/db/catalog_cache.py).
    catalog_cache: bool = True
    # Persisted-document allow-list (`fulfillment documents register`); off: any operation.
    trusted_documents: TrustedDocumentsMode = TrustedDocumentsMode.OFF
    # Registered documents run from a plan made once per process (docs/compiled-path.md).
    compiled_documents: bool = True
    # Browser origins allowed to call the API cross-origin; empty: no CORS headers at all.
    cors_origins: Annotated[tuple[str, ...], NoDecode] = ()
    # The reference pages at /portal/ (docs/portal.md): unset, on outside production and off
    # in production; PORTAL_ENABLED=true serves them in production too.
    portal_enabled: bool | None = None
    # The portal's sign-in picker of demo users (their tokens at /portal/demo-users): unset,
    # on wherever the portal is, outside production; never in production (refused).
    portal_demo_sign_in: bool | None = None

    # Observability (docs/operations.md "Observability"). GET /metrics wants `Authorization: Bearer
    # <METRICS_TOKEN>` when set; in production without one it is a 404.
    metrics_token: str | None = Field(default=None, min_length=16)
    # `json`: one JSON object per log line (time, level, logger, message, request_id, ...).
    log_format: LogFormat = LogFormat.TEXT
    log_level: str = Field(default="INFO", pattern=r"^(DEBUG|INFO|WARNING|ERROR)$")
    # Traces over OTLP/HTTP when set and the `otel` extra is installed (else a warning).
    otel_exporter_otlp_endpoint: str | None = None
    otel_service_name: str = Field(default="fulfillment-api", min_length=1, max_length=64)

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        """CORS_ORIGINS=https://a.example,https://b.example (a list is accepted as is)."""
        if isinstance(value, str):
            return tuple(
                origin.strip().rstrip("/") for origin in value.split(",") if origin.strip()
            )
        return value

    @field_validator("tax_us_state_rates")
    @classmethod
    def _state_rates(cls, value: str) -> str:
        parse_state_rates(value)  # refused at start-up, not at the first quote
        return value

    @field_validator("public_base_url")
    @classmethod
    def _base_url(cls, value: str | None) -> str | None:
        """PUBLIC_BASE_URL=https://billing.example.com (a path prefix may follow)."""
        if not value:
            return None
        value = value.strip()
        if not value.isprintable() or " " in value:  # urlsplit drops CR, LF and tabs
            raise ValueError("PUBLIC_BASE_URL may not contain spaces or control characters")
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("PUBLIC_BASE_URL must be an http:// or https:// URL with a host")
        if parts.query or parts.fragment or parts.username or parts.password:
            raise ValueError("PUBLIC_BASE_URL takes no query, fragment or credentials")
        try:
            parts.port  # noqa: B018 - raises for a port that is not a number in 0..65535
        except ValueError:
            raise ValueError("PUBLIC_BASE_URL has a port that is not 0..65535") from None
        return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"

    @model_validator(mode="after")
    def _no_development_secret_in_production(self) -> Settings:
        if self.environment is Environment.PRODUCTION and self.jwt_secret == DEVELOPMENT_SECRET:
            raise ValueError("JWT_SECRET must be set to a real secret in production")
        if len(self.jwt_secret) < 32:
            raise ValueError("JWT_SECRET must be at least 32 characters")
        if self.smtp_username and not self.smtp_starttls:
            raise ValueError("SMTP_USERNAME needs SMTP_STARTTLS=true: no password in clear text")
        if self.environment is Environment.PRODUCTION and self.test_clock:
            raise ValueError("TEST_CLOCK cannot be turned on in production")
        if self.environment is Environment.PRODUCTION and self.worker_in_process:
            raise ValueError("WORKER_IN_PROCESS is for development; run `fulfillment worker`")
        if self.environment is Environment.PRODUCTION and self.order_pause_after_charge_seconds:
            raise ValueError("ORDER_PAUSE_AFTER_CHARGE_SECONDS is for tests only")
        if self.environment is Environment.PRODUCTION and self.portal_demo_sign_in:
            raise ValueError("PORTAL_DEMO_SIGN_IN hands out demo tokens: never in production")
        if self.environment is Environment.PRODUCTION and not self.license_signing_key:
            raise ValueError("LICENSE_SIGNING_KEY must be set (Ed25519, PEM) in production")
        return self

    @model_validator(mode="after")
    def _provisioning_over_http(self) -> Settings:
        """The HTTP target cannot start without where to send and what to sign with; in
        production the entitlements (and the signature) travel over TLS only."""
        if self.provisioning_target != "http":
            return self
        parts = urlsplit(self.provisioning_url or "")
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("PROVISIONING_TARGET=http needs PROVISIONING_URL (http[s]://host)")
        if parts.query or parts.fragment or parts.username or parts.password:
            raise ValueError("PROVISIONING_URL takes no query, fragment or credentials")
        if self.environment is Environment.PRODUCTION and parts.scheme != "https":
            raise ValueError("PROVISIONING_URL must be https:// in production")
        if len(self.provisioning_signing_secret or "") < 32:
            raise ValueError(
                "PROVISIONING_TARGET=http needs PROVISIONING_SIGNING_SECRET (>= 32 characters)"
            )
        return self

    @model_validator(mode="after")
    def _stripe_configured(self) -> Settings:
        if self.billing_provider != "stripe":
            return self
        if not self.stripe_api_key:
            raise ValueError("STRIPE_API_KEY must be set when BILLING_PROVIDER=stripe")
        if self.test_clock and not self.stripe_api_key.startswith(STRIPE_TEST_KEY_PREFIXES):
            # The app's test clock moves Stripe test clocks, which exist in test mode only; a
            # live key would bill real customers in the app's simulated time.
            raise ValueError(
                "TEST_CLOCK=true with BILLING_PROVIDER=stripe needs a test-mode STRIPE_API_KEY "
                "(sk_test_... or rk_test_...)"
            )
        attempts = self.stripe_max_network_retries + 1
        if attempts * self.stripe_timeout_seconds > self.request_timeout_seconds / 2:
            raise ValueError(
                "STRIPE_TIMEOUT_SECONDS x (STRIPE_MAX_NETWORK_RETRIES + 1) must be at most "
                "half of REQUEST_TIMEOUT_SECONDS"
            )
        if self.environment is Environment.PRODUCTION:
            if not self.stripe_webhook_secret:
                raise ValueError("STRIPE_WEBHOOK_SECRET must be set in production")
            if not self.stripe_api_base.startswith("https://"):
                raise ValueError("STRIPE_API_BASE must be an https:// URL in production")
        return self

    @model_validator(mode="after")
    def _salesforce_configured(self) -> Settings:
        """CRM_PROVIDER=salesforce cannot start without its connected app's credentials and
        a key that signs RS256; the login URL is https:// in production."""
        if self.crm_provider != "salesforce":
            return self
        missing = [
            name.upper()
            for name in ("salesforce_client_id", "salesforce_username", "salesforce_private_key")
            if not getattr(self, name)
        ]
        if missing:
            raise ValueError(f"CRM_PROVIDER=salesforce needs {', '.join(missing)}")
        parts = urlsplit(self.salesforce_login_url)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.path.strip("/"):
            raise ValueError("SALESFORCE_LOGIN_URL must be http[s]://host, without a path")
        if self.environment is Environment.PRODUCTION and parts.scheme != "https":
            raise ValueError("SALESFORCE_LOGIN_URL must be https:// in production")
        if not _is_rsa_private_key(self.salesforce_private_key or ""):
            raise ValueError("SALESFORCE_PRIVATE_KEY must be an RSA private key in PEM text")
        if 3 * self.salesforce_timeout_seconds > self.request_timeout_seconds:
            raise ValueError(
                "SALESFORCE_TIMEOUT_SECONDS x 3 must be at most REQUEST_TIMEOUT_SECONDS"
            )
        return self

    @model_validator(mode="after")
    def _zuora_configured(self) -> Settings:
        if self.billing_provider != "zuora":
            return self
        if not self.zuora_client_id or not self.zuora_client_secret:
            raise ValueError(
                "ZUORA_CLIENT_ID and ZUORA_CLIENT_SECRET must be set when BILLING_PROVIDER=zuora"
            )
        if self.zuora_timeout_seconds > self.request_timeout_seconds / 2:
            raise ValueError(
                "ZUORA_TIMEOUT_SECONDS must be at most half of REQUEST_TIMEOUT_SECONDS"
            )
        parts = urlsplit(self.zuora_api_base)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("ZUORA_API_BASE must be an http[s]:// URL with a host")
        if self.environment is not Environment.TEST and parts.scheme != "https":
            raise ValueError("ZUORA_API_BASE must be an https:// URL outside tests")
        return self

    @property
    def quote_secret(self) -> bytes:
        """Signs quote tokens; derived from JWT_SECRET unless set on its own."""
        if self.quote_signing_secret:
            return self.quote_signing_secret.encode()
        return hmac.new(self.jwt_secret.encode(), b"quote-signing", hashlib.sha256).digest()

    @property
    def integration_key(self) -> bytes:
        """The AES-256 key of the subscribers' signing secrets (32 bytes)."""
        source = (self.integration_secret_key or self.jwt_secret).encode()
        return hmac.new(source, b"integration-secrets", hashlib.sha256).digest()

    @property
    def us_state_tax_rates(self) -> dict[str, int]:
        """TAX_US_STATE_RATES as state -> parts per million (empty: no US sales tax)."""
        return parse_state_rates(self.tax_us_state_rates)

    @property
    def seller_address_lines(self) -> tuple[str, ...]:
        text = self.seller_address.replace("\\n", "\n")
        return tuple(line.strip() for line in text.splitlines() if line.strip())

    @property
    def integration_private_networks_allowed(self) -> bool:
        allowed = self.integration_allow_private_networks
        return not self.is_production if allowed is None else allowed

    @property
    def portal_on(self) -> bool:
        """Whether /portal/ is served (PORTAL_ENABLED; unset: outside production)."""
        enabled = self.portal_enabled
        return not self.is_production if enabled is None else enabled

    @property
    def portal_demo_sign_in_on(self) -> bool:
        """Whether the portal offers the demo users' tokens: never in production."""
        if self.is_production or not self.portal_on:
            return False
        return self.portal_demo_sign_in is not False

    @property
    def is_production(self) -> bool:
        return self.environment is Environment.PRODUCTION

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def _is_rsa_private_key(pem: str) -> bool:
    try:
        key = serialization.load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError):
        return False
    return isinstance(key, rsa.RSAPrivateKey)
