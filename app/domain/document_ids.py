"""Document identifiers of GraphQL over HTTP's persisted documents: `sha256:` followed by the
lower-case hex SHA-256 of the document's source text in UTF-8. Whitespace counts: the id
names exactly the text that was registered."""

from __future__ import annotations

import hashlib
import re

PREFIX = "sha256:"
_HEX_SHA256 = re.compile(r"[0-9a-f]{64}")


def document_hash(text: str) -> str:
    # surrogatepass: a lone surrogate from JSON still hashes (to an unregistered id).
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def document_id(sha256: str) -> str:
    return f"{PREFIX}{sha256}"


def hash_of(document_id: str) -> str | None:
    """The hash a `sha256:<hex>` id names; None for any other form."""
    if not document_id.startswith(PREFIX):
        return None
    payload = document_id[len(PREFIX) :]
    return payload if _HEX_SHA256.fullmatch(payload) else None


def is_sha256(value: str) -> bool:
    return _HEX_SHA256.fullmatch(value) is not None
