"""Idempotency-Keys of the Stripe provider.

Each protocol write is a few Stripe requests. The first write of an operation (its claim)
carries the caller's key as it is, and a digest of the whole neutral request in its metadata
(`request_digest`); every later step carries f"{key}:{step}". Stripe compares a reused key's
endpoint and parameters with the first request's and answers 400 `idempotency_error` when
they differ, so the same key with another operation or other arguments is refused at the claim
("idempotency_key_reused"). A replay gets each step's stored answer back and changes nothing.

When an operation acts on an existing object (set_payment_method, amend, renew, reactivate,
collect, void, refund), the claim is a metadata-only update of that object: Stripe's stored
answer to it is the object as it was when the key was first used, so a replay computes the
same later steps from the same snapshot even after the first run changed the object.

Stripe forgets keys after at least 24 hours; a replay after that runs again.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from stripe import RequestOptions

from app.providers.errors import ProviderRejected

PROVIDER = "stripe"
# Stripe takes keys of up to 255 characters; steps add at most 55.
MAX_KEY_LENGTH = 200
DIGEST = "request_digest"


def check_key(key: str) -> None:
    if not key or len(key) > MAX_KEY_LENGTH:
        raise ProviderRejected(PROVIDER, "invalid_request", "idempotency key must be 1-200 chars")


def digest(operation: str, request: Any) -> str:
    canonical = json.dumps([operation, request], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def claim(key: str) -> RequestOptions:
    return {"idempotency_key": key}


def step(key: str, name: str) -> RequestOptions:
    return {"idempotency_key": f"{key}:{name}"}
