"""Trusted documents by hash: the request-time lookup and the registration write."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.db.tables import TrustedDocument


async def document_text(session: AsyncSession, sha256: str) -> str | None:
    stmt = sa.select(col(TrustedDocument.document)).where(col(TrustedDocument.sha256) == sha256)
    text: str | None = (await session.execute(stmt)).scalar_one_or_none()
    return text


async def insert_missing(
    session: AsyncSession, documents: Sequence[tuple[str, str, str]], at: datetime
) -> set[str]:
    """Insert the (sha256, name, text) rows whose hash is not registered yet, whoever registers
    concurrently; the hashes this call inserted."""
    if not documents:
        return set()
    rows = [
        {"sha256": sha256, "name": name, "document": text, "registered_at": at}
        for sha256, name, text in documents
    ]
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = (
        insert(TrustedDocument)
        .values(rows)
        .on_conflict_do_nothing(index_elements=[col(TrustedDocument.sha256)])
        .returning(col(TrustedDocument.sha256))
    )
    return set((await session.scalars(stmt)).all())
