"""Trusted documents at the edge (GraphQL over HTTP's persisted documents): a request may
name a registered document by id instead of sending its text, and with
TRUSTED_DOCUMENTS=enforce only registered documents run, except for partner and admin tokens.

The check is the first extension of every operation, before the parser: the id becomes the
registered text there, so ParserCache and ValidationCache key on that text as on any other.
A refusal leaves the operation before anything is parsed or run."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionContext

from app.auth.principals import ANONYMOUS, Principal
from app.config import TrustedDocumentsMode
from app.domain.document_ids import document_hash, document_id, hash_of, is_sha256
from app.domain.errors import ErrorCode
from app.services.trusted_documents import (
    Read,
    TrustedDocumentCache,
    in_own_session,
    may_send_any_operation,
)
from resolvers.context import RequestContext
from resolvers.errors import PublicError
from schema.edge import operation_record


def requested_document_id(execution: ExecutionContext) -> str | None:
    """The body's `documentId` (the view puts it on the context) or, as Apollo Client sends
    it, `extensions.persistedQuery.sha256Hash`."""
    requested = getattr(execution.context, "document_id", None)
    if isinstance(requested, str):
        return requested
    persisted = (execution.operation_extensions or {}).get("persistedQuery")
    sha256 = persisted.get("sha256Hash") if isinstance(persisted, dict) else None
    if isinstance(sha256, str):
        return document_id(sha256) if is_sha256(sha256) else sha256
    return None


def _mark_trusted(context: Any, sha256: str | None) -> None:
    """Tells schema.compiled which registered document this operation runs (None: none)."""
    if isinstance(context, RequestContext):
        context.trusted_document = sha256


class TrustedDocuments(SchemaExtension):
    def __init__(self, *, mode: TrustedDocumentsMode, cache: TrustedDocumentCache) -> None:
        self.mode = mode
        self.cache = cache

    async def on_operation(self) -> AsyncIterator[None]:
        execution = self.execution_context
        try:
            await self._admit(execution)
        except PublicError as refusal:
            operation_record(execution.context).refused = refusal.code
            raise  # strawberry answers it as the single error of the result
        yield

    async def _admit(self, execution: ExecutionContext) -> None:
        context = execution.context
        _mark_trusted(context, None)
        requested = requested_document_id(execution)
        if requested is not None:
            if execution.query is None:
                execution.query = await self._registered(requested, context)
                _mark_trusted(context, hash_of(requested))
                return
            if hash_of(requested) != document_hash(execution.query):
                raise PublicError(
                    ErrorCode.VALIDATION,
                    "The document id is not the SHA-256 of the query sent with it.",
                )
        principal: Principal = getattr(context, "principal", ANONYMOUS)
        if execution.query is None or may_send_any_operation(self.mode, principal):
            return
        sha256 = document_hash(execution.query)
        if await self._text(sha256, context) is None:
            raise PublicError(
                ErrorCode.DOCUMENT_NOT_TRUSTED,
                "Only registered operations are accepted: send the `documentId` of a "
                "registered document.",
            )
        _mark_trusted(context, sha256)

    async def _registered(self, requested: str, context: Any) -> str:
        sha256 = hash_of(requested)
        if sha256 is None:
            message = "A document id is `sha256:` followed by 64 lower-case hex digits."
            raise PublicError(ErrorCode.PERSISTED_DOCUMENT_NOT_FOUND, message)
        text = await self._text(sha256, context)
        if text is None:
            message = f"No document with the id {requested} is registered."
            raise PublicError(ErrorCode.PERSISTED_DOCUMENT_NOT_FOUND, message)
        return text

    async def _text(self, sha256: str, context: Any) -> str | None:
        runtime = context.runtime
        read: Read[str | None] = (
            context.read
            if isinstance(context, RequestContext)
            else in_own_session(runtime.sessions)
        )
        text: str | None = await self.cache.text(sha256, runtime.clock.now(), read)
        return text
