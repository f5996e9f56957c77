"""Typed provider errors. Adapters translate every transport or API failure into one of these.

- `ProviderUnavailable`: the provider could not answer (network, timeout, 5xx, rate limit);
  the same request may succeed later, so the outbox retries it with the same idempotency key.
- `ProviderRejected`: the provider understood the request and refused it, with a stable
  `code` such as "invalid_request" or "idempotency_key_reused"; retrying will not help.
- `ProviderNotFound`: the request named an object the provider does not have.

A declined card is not an error: `collect_payment` returns a FAILED `PaymentRecord`.
"""

from __future__ import annotations

from typing import ClassVar


class ProviderError(Exception):
    """Base of every provider failure; `provider` names the implementation ("local", ...)."""

    retryable: ClassVar[bool] = False

    def __init__(self, provider: str, message: str) -> None:
        super().__init__(f"{provider}: {message}")
        self.provider = provider
        self.message = message


class ProviderUnavailable(ProviderError):
    retryable: ClassVar[bool] = True


class ProviderRejected(ProviderError):
    def __init__(self, provider: str, code: str, message: str | None = None) -> None:
        super().__init__(provider, message or code)
        self.code = code


class ProviderNotFound(ProviderError):
    def __init__(self, provider: str, message: str, *, ref: str | None = None) -> None:
        super().__init__(provider, message)
        self.ref = ref
