"""Human-facing document numbers, drawn from database counters (gap-free per commit)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app.db.repositories.commerce import next_number


async def subscription_number(session: AsyncSession) -> str:
    return f"A-S{await next_number(session, 'subscription'):08d}"


async def invoice_number(session: AsyncSession) -> str:
    return f"INV-{await next_number(session, 'invoice'):06d}"


async def credit_note_number(session: AsyncSession) -> str:
    return f"CN-{await next_number(session, 'credit_note'):06d}"
