"""Row counts of every table: a refused call must leave them exactly as they were."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.tables import metadata


async def table_counts(db: AsyncSession) -> dict[str, int]:
    counts = {}
    for name, table in metadata.tables.items():
        counts[name] = (
            await db.execute(sa.select(sa.func.count()).select_from(table))
        ).scalar_one()
    return counts
