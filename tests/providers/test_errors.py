from __future__ import annotations

from app.providers import ProviderError, ProviderNotFound, ProviderRejected, ProviderUnavailable


def test_only_unavailable_is_retryable() -> None:
    unavailable = ProviderUnavailable("stripe", "timed out after 10s")
    rejected = ProviderRejected("stripe", "card_declined")
    missing = ProviderNotFound("zuora", "no account 'A-1'", ref="A-1")

    assert all(isinstance(e, ProviderError) for e in (unavailable, rejected, missing))
    assert (unavailable.retryable, rejected.retryable, missing.retryable) == (True, False, False)
    assert (rejected.code, rejected.message, str(rejected)) == (
        "card_declined",
        "card_declined",
        "stripe: card_declined",
    )
    assert (missing.provider, missing.ref) == ("zuora", "A-1")
