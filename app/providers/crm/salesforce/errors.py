"""Salesforce answers -> app/providers/errors.py's types.

REST errors come as a JSON array of {"message", "errorCode", "fields"}; the token endpoint
answers OAuth errors {"error", "error_description"}.

- 401 INVALID_SESSION_ID: the session expired; client.py authenticates again once and
  retries. A second 401 is `ProviderRejected("not_authorized")`, as is a refused assertion.
- 403 REQUEST_LIMIT_EXCEEDED (the org's daily API requests are used up), 5xx, timeouts and
  connection failures: `ProviderUnavailable`, retried later by the outbox.
- 404 NOT_FOUND, and a parent named by an external id that does not exist (400
  INVALID_FIELD "Foreign key external ID: ... not found"): `ProviderNotFound`.
- any other 4xx (MALFORMED_QUERY, INVALID_FIELD, REQUIRED_FIELD_MISSING,
  STRING_TOO_LONG, ...): `ProviderRejected("invalid_request")`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.providers.errors import (
    ProviderError,
    ProviderNotFound,
    ProviderRejected,
    ProviderUnavailable,
)

PROVIDER = "salesforce"
INVALID_SESSION = "INVALID_SESSION_ID"
LIMIT_EXCEEDED = "REQUEST_LIMIT_EXCEEDED"
DUPLICATE_VALUE = "DUPLICATE_VALUE"
HALTED = "PROCESSING_HALTED"  # a composite subrequest rolled back for another's failure
_FOREIGN_KEY = "Foreign key external ID"


@dataclass(frozen=True, slots=True)
class ApiError:
    """The first error of an answer (Salesforce lists one per problem; the first decides)."""

    status: int
    code: str
    message: str

    @classmethod
    def of(cls, status: int, body: Any) -> ApiError:
        first = body[0] if isinstance(body, list) and body else body
        if isinstance(first, dict):
            code = str(first.get("errorCode") or first.get("error") or f"HTTP_{status}")
            message = str(first.get("message") or first.get("error_description") or code)
            return cls(status, code, message)
        return cls(status, f"HTTP_{status}", str(body or "no body")[:200])


def translate(error: ApiError) -> ProviderError:
    message = f"{error.code}: {error.message}"
    if error.status >= 500 or error.code == LIMIT_EXCEEDED:
        return ProviderUnavailable(PROVIDER, message)
    if error.status == 401:
        return ProviderRejected(PROVIDER, "not_authorized", message)
    if error.code == "NOT_FOUND" or error.message.startswith(_FOREIGN_KEY):
        return ProviderNotFound(PROVIDER, message, ref=_missing_ref(error.message))
    return ProviderRejected(PROVIDER, "invalid_request", message)


def _missing_ref(message: str) -> str | None:
    """ "Foreign key external ID: crm-x not found for field ..." names the missing ref."""
    if not message.startswith(_FOREIGN_KEY):
        return None
    return message.removeprefix(_FOREIGN_KEY + ":").strip().split(" not found", 1)[0]
