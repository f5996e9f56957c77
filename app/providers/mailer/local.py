"""The embedded mailer: keeps every e-mail in the `local_mail` table (the development
mailbox, and what tests read). A key already stored is a no-op."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from app.clock import Clock
from app.db.tables.local_providers import LocalMail
from app.providers import _checks as checks
from app.providers._sql import retry_on_conflict, write_session
from app.providers.mailer.protocol import EmailMessage


class LocalMailer:
    name = "local"

    def __init__(self, session_factory: async_sessionmaker[AsyncSession], clock: Clock) -> None:
        self._sessions = session_factory
        self._clock = clock

    async def send(self, message: EmailMessage, *, idempotency_key: str) -> None:
        checks.check_text("to", message.to)
        checks.check_text("idempotency_key", idempotency_key)
        await retry_on_conflict(lambda: self._store(message, idempotency_key))

    async def _store(self, message: EmailMessage, key: str) -> None:
        async with write_session(self._sessions) as s:
            found = await s.execute(
                select(col(LocalMail.id)).where(col(LocalMail.idempotency_key) == key)
            )
            if found.first() is None:
                s.add(
                    LocalMail(
                        idempotency_key=key,
                        to=message.to,
                        subject=message.subject,
                        body=message.body,
                        sent_at=self._clock.now(),
                    )
                )
